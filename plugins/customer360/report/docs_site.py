"""``customer360 docs``: the dbt docs site and the newest run's GX Data Docs, under ``<home>/docs``.

- ``<home>/docs/dbt``: ``dbt docs generate --static`` (``static_index.html`` opens from disk; ``index.html``
  with ``manifest.json`` and ``catalog.json`` is what ``dbt docs serve`` and hosting serve).
- ``<home>/docs/quality``: a copy of ``<runs>/<D>/gx/data_docs`` of the newest run that has Data Docs,
  swapped in whole so a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from customer360.settings import Settings

DOCS_FOLDER = "docs"
DBT_DOCS_FOLDER = "dbt"
QUALITY_DOCS_FOLDER = "quality"
GX_DATA_DOCS = Path("gx") / "data_docs"
GX_INDEX = Path("local_site") / "index.html"


@dataclass(frozen=True)
class DocsOutcome:
    """One docs site: where it is when built, or why it is not."""

    name: str
    ok: bool
    message: str
    path: Path | None = None


def docs_dir(settings: Settings) -> Path:
    return settings.home / DOCS_FOLDER


def run_dates(settings: Settings) -> list[date]:
    """Logical dates that have a run folder, oldest first."""
    if not settings.runs_dir.is_dir():
        return []
    dates = []
    for child in settings.runs_dir.iterdir():
        try:
            dates.append(date.fromisoformat(child.name))
        except ValueError:
            continue
    return sorted(dates)


def newest_data_docs(settings: Settings, logical_date: date | None = None) -> Path | None:
    """``gx/data_docs`` of ``logical_date``'s run, or of the newest run that has one."""
    candidates = [logical_date] if logical_date else list(reversed(run_dates(settings)))
    for day in candidates:
        folder = settings.run_dir(day.isoformat()) / GX_DATA_DOCS
        if folder.is_dir() and any(folder.iterdir()):
            return folder
    return None


def _swap_tree(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target``, replacing it whole: copy aside, then two renames."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = target.parent / f".{target.name}.new.{os.getpid()}"
    stale = target.parent / f".{target.name}.old.{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(source, fresh)
    if target.exists():
        os.rename(target, stale)
    os.rename(fresh, target)
    shutil.rmtree(stale, ignore_errors=True)


def publish_quality_docs(settings: Settings, logical_date: date | None = None) -> DocsOutcome:
    source = newest_data_docs(settings, logical_date)
    if source is None:
        where = settings.run_dir(logical_date.isoformat()) if logical_date else settings.runs_dir
        return DocsOutcome(
            "quality",
            False,
            f"no Great Expectations Data Docs under {where} (a run writes them to <run>/gx/data_docs when it "
            "validates a layer): run `customer360 run` first",
        )
    target = docs_dir(settings) / QUALITY_DOCS_FOLDER
    _swap_tree(source, target)
    index = target / GX_INDEX
    shown = index if index.is_file() else target
    return DocsOutcome("quality", True, f"Data Docs of run {source.parents[1].name}", shown)


def generate_dbt_docs(settings: Settings, as_of_date: date | None) -> DocsOutcome:
    """``dbt docs generate --static`` into ``<home>/docs/dbt``; a clear outcome when it cannot run."""
    project = settings.dbt_project_dir
    if not (project / "dbt_project.yml").is_file():
        return DocsOutcome("dbt", False, f"no dbt project at {project} (dbt_project.yml is missing)")
    if settings.target == "duckdb" and not settings.warehouse_path.is_file():
        return DocsOutcome(
            "dbt",
            False,
            f"no warehouse at {settings.warehouse_path} yet: dbt docs read the catalog (tables and columns) "
            "from it. Run `customer360 run` first.",
        )
    if as_of_date is None:
        return DocsOutcome(
            "dbt", False, f"no run folder under {settings.runs_dir} to take as_of_date from: pass --date"
        )
    from dbt.cli.main import dbtRunner

    from customer360.dbt_runner import _prepare_environment, dbt_vars, in_warehouse_folder

    _prepare_environment(settings)
    target_path = docs_dir(settings) / DBT_DOCS_FOLDER
    target_path.mkdir(parents=True, exist_ok=True)
    args = [
        "docs",
        "generate",
        "--static",
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(target_path),
        "--target",
        settings.dbt_target,
        "--vars",
        json.dumps(dbt_vars(settings, as_of_date)),
    ]
    with in_warehouse_folder(settings.warehouse_path):
        result = dbtRunner().invoke(args)
    log = Path(os.environ.get("DBT_LOG_PATH", str(settings.home / "dbt" / "logs"))) / "dbt.log"
    if result.exception is not None or not result.success:
        why = result.exception or "see the messages above"
        return DocsOutcome("dbt", False, f"dbt docs generate failed: {why} (log: {log})")
    static = target_path / "static_index.html"
    index = static if static.is_file() else target_path / "index.html"
    return DocsOutcome("dbt", True, f"dbt docs for as_of_date {as_of_date.isoformat()}", index)


def build_docs(settings: Settings, logical_date: date | None = None) -> list[DocsOutcome]:
    """Both docs sites; ``logical_date`` defaults to the newest run."""
    dates = run_dates(settings)
    as_of = logical_date or (dates[-1] if dates else None)
    return [generate_dbt_docs(settings, as_of), publish_quality_docs(settings, logical_date)]
