"""The dbt builds of a daily run: one table, read by the runner, the incremental planner, the pipeline, the
summary and the DAG.

A build is one ``dbt build`` of one folder of the dbt project. Its name is used everywhere the build is
named: the folder (``dbt_project/models/<name>``), the selector (``dbt_project/selectors.yml``), the
pipeline stage (``dbt:<name>``, in the run's progress and summary), the rows of ``audit.dbt_layer_builds``
and the DAG task (``dbt_<name>``). The order of the table is the order of a run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Build:
    name: str
    # What the build makes, and when in the run.
    description: str
    # Folders (relative to the dbt project) whose files decide what an incremental build's SQL computes:
    # a change to any of them rebuilds the build in full (customer360.incremental). Empty: the build is
    # not incremental and is rebuilt in full every run.
    fingerprint_paths: tuple[str, ...] = ()
    # The selector of an incremental build that leaves out its whole-table tests (tag ``whole_table``): used
    # by the daily builds between two weekly ones (``customer360.incremental.BuildPlan.whole_table_tests``).
    # None: every build runs all its tests.
    daily_selector: str | None = None

    @property
    def selector(self) -> str:
        """The selector in dbt_project/selectors.yml: the build's folder (and what goes with it)."""
        return self.name

    @property
    def folder(self) -> str:
        """The folder of the dbt project that holds the build's models."""
        return f"models/{self.name}"

    @property
    def task_id(self) -> str:
        """The task of the customer360_daily DAG that runs the build."""
        return f"dbt_{self.name}"

    @property
    def stage(self) -> str:
        """The stage name in the run's progress log and summary."""
        return f"dbt:{self.name}"

    @property
    def incremental(self) -> bool:
        return bool(self.fingerprint_paths)


BUILDS: tuple[Build, ...] = (
    Build(
        "staging",
        "Before identity resolution: the seeds, the staging models and the identity stage's input.",
        fingerprint_paths=("dbt_project.yml", "selectors.yml", "models/staging", "macros", "seeds"),
    ),
    Build(
        "core",
        "After identity resolution: the intermediate models, the marts and the restricted marts, and the "
        "snapshots.",
        # The core build reads nearly every model, so any model counts.
        fingerprint_paths=("dbt_project.yml", "selectors.yml", "models", "snapshots", "macros", "seeds"),
        daily_selector="core_daily",
    ),
    Build(
        "analytics",
        "After the CLV and churn stage: the marts that read its predictions (the scored marts).",
    ),
)
BUILD_NAMES: tuple[str, ...] = tuple(build.name for build in BUILDS)
INCREMENTAL_BUILDS: tuple[str, ...] = tuple(build.name for build in BUILDS if build.incremental)


def get_build(name: str) -> Build:
    """The build called ``name``; a clear error for any other name."""
    for build in BUILDS:
        if build.name == name:
            return build
    raise ValueError(f"unknown dbt build {name!r}; known: {', '.join(BUILD_NAMES)}")
