"""dbt's saved parse, reused by every test home instead of parsed again in each.

dbt reuses its saved parse (``<home>/dbt/target/partial_parse*.msgpack``) only while the profile's connection
values are unchanged, and the DuckDB warehouse path is one of them: each test home, and each copy of one
(``shared_runs.clone_home``), would parse the whole project again at its first dbt build, though the parse
does not depend on the folder the warehouse file is in (its file name names the database, and is the same
in every home). In the test processes (``portable_partial_parse``: pytest and the stage server of
``pipeline_run``) the check compares that file name instead of the whole path, and a session
keeps one folder of saved parses, one per set of ``--vars`` (``customer360.dbt_runner.parse_kept_per_vars``),
that every new home or dbt target folder starts from (``seed_target``, ``keep_target``).

Imported as ``tests.support.shared_dbt_parse`` and, by the stage server (a script in this folder), as
``shared_dbt_parse``: it imports nothing of the tests.
"""

from __future__ import annotations

import os
import pprint
import shutil
from pathlib import Path

# The parses dbt_runner.parse_kept_per_vars keeps, one per set of --vars (dbt's own file is not shared).
KEPT_FILES = "partial_parse.*.msgpack"


def portable_partial_parse() -> None:
    """Make dbt's partial-parse check in this process ignore the folder of the DuckDB warehouse file."""
    from dbt.contracts.files import FileHash
    from dbt.parser.manifest import ManifestLoader

    original = ManifestLoader.build_manifest_state_check
    if getattr(original, "portable", False):
        return

    def build_manifest_state_check(self):
        state = original(self)
        keys = sorted(
            (key, Path(value).name if key == "path" and isinstance(value, str) else value)
            for key, value in self.root_project.credentials.connection_info()
        )
        state.profile_hash = FileHash.from_contents(pprint.pformat(keys))
        return state

    build_manifest_state_check.portable = True
    ManifestLoader.build_manifest_state_check = build_manifest_state_check


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


def seed_home(home: Path, cache: Path | None) -> None:
    seed_target(home / "dbt" / "target", cache)


def keep_seed(home: Path, cache: Path | None) -> None:
    keep_target(home / "dbt" / "target", cache)
