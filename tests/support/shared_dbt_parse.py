"""dbt's saved parse, reused by every test home instead of parsed again in each.

dbt reuses its saved parse (``<dbt target>/partial_parse*.msgpack``) only while the project, the ``--vars``
and the profile's connection values are unchanged. The profile names the DuckDB warehouse by its file name
in its folder (``customer360.dbt_runner.in_warehouse_folder``), the same in every home, so a parse saved in
one home is valid in all of them. A session keeps one folder of saved parses, one per set of ``--vars``
(``customer360.dbt_runner.parse_kept_per_vars``), that every new home or dbt target folder starts from
(``seed_target``) and adds to (``keep_target``); the pipeline's own are made first (``pipeline_parses``).

It imports nothing of the tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# The parses dbt_runner.parse_kept_per_vars keeps, one per set of --vars (dbt's own file is not shared).
KEPT_FILES = "partial_parse.*.msgpack"


def seed_target(target: Path, cache: Path | None) -> None:
    """Copy into a dbt target folder the saved parses of the session (``cache``) it does not have yet."""
    if cache is None or not cache.is_dir():
        return
    for path in cache.glob(KEPT_FILES):
        if not (target / path.name).exists():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / path.name)


def keep_target(target: Path, cache: Path | None) -> None:
    """Add a dbt target folder's saved parses to the session's (``cache``); the first of each stays."""
    if cache is None:
        return
    cache.mkdir(parents=True, exist_ok=True)
    for path in target.glob(KEPT_FILES):
        if (cache / path.name).exists():
            continue
        partial = cache / f".{path.name}.{os.getpid()}"
        shutil.copyfile(path, partial)
        partial.replace(cache / path.name)  # atomic: readers see no half-written file


def pipeline_parses(cache: Path) -> None:
    """Put in ``cache`` the parses a daily run's builds start from (their ``--vars``, with and without the
    core layer's full rebuild), made once per session by whichever process asks first, the others waiting
    for it: so the first homes of a session, which start side by side, do not each parse the whole project."""
    import fcntl
    from datetime import date

    from customer360 import dbt_runner
    from customer360.settings import Settings

    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".pipeline.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = cache / ".pipeline-parsed"
        if done.exists():
            return
        home = cache / ".pipeline-home"
        settings = Settings(home=home, warehouse_path=home / "warehouse" / "customer360.duckdb")
        for full_rebuild in (False, True):
            dbt_runner.parse(settings, date.today(), extra_vars={"marts_full_rebuild": full_rebuild})
        keep_target(home / "dbt" / "target", cache)
        done.touch()


def seed_home(home: Path, cache: Path | None) -> None:
    """Start a pipeline home from the session's saved parses (``pipeline_parses`` first)."""
    if cache is not None:
        pipeline_parses(cache)
    seed_target(home / "dbt" / "target", cache)


def keep_seed(home: Path, cache: Path | None) -> None:
    keep_target(home / "dbt" / "target", cache)
