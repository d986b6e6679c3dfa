"""Daily runs build the staging layer incrementally, and the result equals a full rebuild.

``backfill_run`` ran END-2 (first build: full), END-1 and END (incremental: only the keys with new raw rows
are recomputed); ``single_run`` ran END once (a full build over the same files). Their marts are compared
in ``test_reruns``; here the staging tables themselves, and the build log that says how each was built.
"""

from __future__ import annotations

import duckdb
import pytest

from conftest import BACKFILL_DAYS

pytestmark = pytest.mark.slow

# Which ingest run loaded a raw row differs between two homes by construction (run ids name the run).
RUN_SPECIFIC_COLUMNS = ("_ingest_run_id",)


def _staging_checksums(settings) -> dict[str, tuple[int, str]]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'staging' order by 1"
            ).fetchall()
        ]
        result = {}
        for table in tables:
            exclude = ", ".join(RUN_SPECIFIC_COLUMNS)
            result[table] = con.execute(
                f"""select count(*), coalesce(md5(string_agg(h, ',' order by h)), '')
                from (select md5(cast(r as varchar)) as h
                      from (select * exclude ({exclude}) from staging.{table}) as r)"""
            ).fetchall()[0]
        return result
    finally:
        con.close()


def _builds(settings) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(
            "select as_of_date, full_refresh, reason from audit.dbt_layer_builds where layer = 'staging' "
            "order by finished_at"
        ).fetchall()
    finally:
        con.close()


def test_given_daily_runs_then_the_first_staging_build_is_full_and_the_next_ones_incremental(backfill_run):
    settings, runs = backfill_run
    builds = _builds(settings)
    assert [b[0] for b in builds] == [r.logical_date for r in runs]
    assert [b[1] for b in builds] == [True] + [False] * (BACKFILL_DAYS - 1)
    assert builds[0][2] == "no earlier build recorded"
    assert all(b[2].startswith("rows delivered after ") for b in builds[1:])


def test_given_incremental_daily_builds_then_staging_equals_a_full_rebuild_over_the_same_files(
    backfill_run, single_run
):
    incremental = _staging_checksums(backfill_run[0])
    full = _staging_checksums(single_run[0])
    assert set(incremental) == set(full) and len(full) >= 6
    differing = sorted(t for t in full if incremental[t] != full[t])
    assert differing == [], f"staging tables differ between incremental and full builds: {differing}"
    # the comparison is about data, not empty tables (the small data set has no survey in these days)
    assert sum(rows > 0 for rows, _ in full.values()) >= 5
