"""The DuckDB <-> PostgreSQL sync layer (customer360.warehouse_sync) against a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import decimal
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import psycopg2
import pytest

from customer360 import warehouse_sync as sync
from customer360.ingest import load_channel
from customer360.settings import Settings
from customer360.warehouse import connect, stage_connection

pytestmark = pytest.mark.postgres

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "landing"
DAY = date(2026, 3, 1)

AWKWARD_TEXT = [
    "plain",
    "",
    None,
    "comma, \"double quotes\" and 'single'",
    "line one\nline two\r\nline three",
    "back\\slash \\N \\. and a tab\t",
    "王小明",
    '=HYPERLINK("http://evil.example/?q=1","click")',
    "trailing space ",
]
TYPED_ROWS = """
select * from (values
    (1, 'plain', 9007199254740993, 0.1, 12.50, date '2026-01-01', timestamp '2026-01-01 10:00:00.123456',
        timestamptz '2026-01-01 10:00:00.5+00', true, '{"a": [1, 2], "b": "x"}'::json),
    (2, '', -1, 1e-300, -0.01, date '0001-01-01', timestamp '1970-01-01 00:00:00', null, false, null),
    (3, null, null, null, null, null, null, null, null, null),
    (4, '王小明', 0, -123456789.123456789, 12345678901234.56, date '9999-12-31',
        timestamp '2026-12-31 23:59:59.999999', timestamptz '2026-06-30 22:00:00+00', null, '[]'::json),
    (5, 'x', 42, 0.3333333333333333, 0.00, date '2024-02-29', timestamp '2026-01-01 00:00:00.000001',
        timestamptz '1999-12-31 23:59:59.999999+00', true, '{}'::json)
) as t(id, label, big, ratio, amount, seen_on, seen_at, seen_at_utc, flag, doc)
"""
TYPED_DDL = """
create table kinds.typed (
    id integer, label varchar, big bigint, ratio double, amount decimal(18, 2), seen_on date,
    seen_at timestamp,
    seen_at_utc timestamptz, flag boolean, doc json
)"""


@pytest.fixture
def settings(tmp_path: Path, postgres_database_url: str) -> Iterator[Settings]:
    s = Settings(
        home=tmp_path,
        warehouse_path=tmp_path / "warehouse" / "customer360.duckdb",  # not one a dbt run exported earlier
        landing_root=tmp_path / "landing",
        target="postgres",
        postgres_url=postgres_database_url,
        duckdb_threads=1,
        channels_file=tmp_path / "channels.yml",
    )
    yield s
    with psycopg2.connect(postgres_database_url) as pg, pg.cursor() as cur:  # each test starts empty
        for schema in ("kinds", "raw", "audit", "identity", "analytics", "marts"):
            cur.execute(f"drop schema if exists {schema} cascade")


def _duckdb_with_rows(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("set timezone = 'UTC'")
    con.execute("create schema kinds")
    con.execute(TYPED_DDL)
    con.execute(f"insert into kinds.typed {TYPED_ROWS}")
    con.execute("create table kinds.texts (n integer, t varchar)")
    con.executemany("insert into kinds.texts values (?, ?)", list(enumerate(AWKWARD_TEXT)))
    return con


def _push(settings: Settings, con: duckdb.DuckDBPyConnection, names: tuple[str, ...], key: str | None = None):
    return sync.push_tables(settings, con, names, key)


def test_given_every_mapped_type_and_awkward_text_when_pushed_and_pulled_back_then_rows_are_identical(
    settings: Settings, tmp_path: Path
) -> None:
    source = _duckdb_with_rows(tmp_path / "source.duckdb")
    pushed = _push(settings, source, ("kinds",))
    assert pushed == {"kinds.texts": len(AWKWARD_TEXT), "kinds.typed": 5}

    back = duckdb.connect(str(tmp_path / "back.duckdb"))
    back.execute("set timezone = 'UTC'")
    assert sync.pull_tables(settings, back, ("kinds",)) == {
        "kinds.texts": len(AWKWARD_TEXT),
        "kinds.typed": 5,
    }
    for table in ("kinds.typed", "kinds.texts"):
        expected = source.execute(f"select * from {table} order by 1").fetchall()
        assert back.execute(f"select * from {table} order by 1").fetchall() == expected, table
    # types come back as they left (json stays json, decimals keep precision and scale)
    assert sync.duckdb_columns(back, "kinds.typed") == sync.duckdb_columns(source, "kinds.typed")
    # doubles are bit-exact, not just close
    ratios = back.execute("select ratio from kinds.typed where ratio is not null order by id").fetchall()
    assert [r[0] for r in ratios] == [0.1, 1e-300, -123456789.123456789, 0.3333333333333333]


def test_given_pushed_rows_when_postgres_reads_them_then_values_and_types_are_native(
    settings: Settings, tmp_path: Path
) -> None:
    _push(settings, _duckdb_with_rows(tmp_path / "source.duckdb"), ("kinds",))
    with psycopg2.connect(settings.postgres_url) as pg, pg.cursor() as cur:
        cur.execute("select t from kinds.texts order by n")
        assert [r[0] for r in cur.fetchall()] == AWKWARD_TEXT  # '' stays '', null stays null
        cur.execute("select amount, seen_on, seen_at, flag, doc->>'b' from kinds.typed where id = 1")
        assert cur.fetchone() == (
            decimal.Decimal("12.50"),
            date(2026, 1, 1),
            dt.datetime(2026, 1, 1, 10, 0, 0, 123456),
            True,
            "x",
        )
        cur.execute("select seen_at_utc from kinds.typed where id = 4")
        assert cur.fetchone()[0] == dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC)
        cur.execute(
            "select format_type(atttypid, atttypmod) from pg_attribute "
            "where attrelid = 'kinds.typed'::regclass and attnum > 0 order by attnum"
        )
        assert [r[0] for r in cur.fetchall()] == [
            "integer",
            "text",
            "bigint",
            "double precision",
            "numeric(18,2)",
            "date",
            "timestamp without time zone",
            "timestamp with time zone",
            "boolean",
            "json",
        ]


def test_given_a_table_in_postgres_when_pushed_again_then_it_is_replaced_and_dependent_views_survive(
    settings: Settings, tmp_path: Path
) -> None:
    source = _duckdb_with_rows(tmp_path / "source.duckdb")
    _push(settings, source, ("kinds.texts",))
    with psycopg2.connect(settings.postgres_url) as pg, pg.cursor() as cur:
        cur.execute("create view kinds.text_count as select count(*) as n from kinds.texts")
    source.execute("delete from kinds.texts where n > 2")
    _push(settings, source, ("kinds.texts",))
    with psycopg2.connect(settings.postgres_url) as pg, pg.cursor() as cur:
        cur.execute("select n from kinds.text_count")
        assert cur.fetchone() == (3,)


def test_given_a_stage_wrote_one_date_when_pushed_with_a_key_then_only_that_dates_rows_are_replaced(
    settings: Settings, tmp_path: Path
) -> None:
    first = duckdb.connect(str(tmp_path / "first.duckdb"))
    first.execute("create schema analytics")
    first.execute(
        "create table analytics.scores as select * from (values ('c1', date '2026-01-01', 0.5), "
        "('c2', date '2026-01-01', 0.7), ('c1', date '2026-01-02', 0.6)) as t(customer_id, as_of_date, score)"
    )
    _push(settings, first, ("analytics",))
    rerun = duckdb.connect(str(tmp_path / "rerun.duckdb"))
    rerun.execute("create schema analytics")
    rerun.execute(
        "create table analytics.scores as select 'c9' as customer_id, date '2026-01-02' as as_of_date, "
        "0.9 as score"
    )
    assert _push(settings, rerun, ("analytics",), key="as_of_date") == {"analytics.scores": 1}
    with psycopg2.connect(settings.postgres_url) as pg, pg.cursor() as cur:
        cur.execute("select customer_id, as_of_date::text, score::float from analytics.scores order by 2, 1")
        assert cur.fetchall() == [
            ("c1", "2026-01-01", 0.5),
            ("c2", "2026-01-01", 0.7),
            ("c9", "2026-01-02", 0.9),
        ]


def test_given_a_table_changed_shape_when_pushed_then_postgres_gets_the_new_shape(
    settings: Settings, tmp_path: Path
) -> None:
    con = duckdb.connect(str(tmp_path / "shape.duckdb"))
    con.execute("create schema identity")
    con.execute("create table identity.ids as select 'a' as customer_id, 1 as version")
    _push(settings, con, ("identity",))
    con.execute(
        "create or replace table identity.ids as select 'a' as customer_id, 'v2' as version, true as ok"
    )
    _push(settings, con, ("identity",))
    with psycopg2.connect(settings.postgres_url) as pg, pg.cursor() as cur:
        cur.execute("select customer_id, version, ok from identity.ids")
        assert cur.fetchall() == [("a", "v2", True)]


def test_given_a_list_column_when_pushed_then_the_error_names_table_and_column_and_nothing_is_written(
    settings: Settings, tmp_path: Path
) -> None:
    con = duckdb.connect(str(tmp_path / "list.duckdb"))
    con.execute("create schema identity")
    con.execute("create table identity.a_fine as select 1 as id")
    con.execute("create table identity.b_lists as select 1 as id, ['x', 'y'] as tags")
    with pytest.raises(sync.WarehouseSyncError, match=r"identity\.b_lists\.tags has DuckDB type VARCHAR\[\]"):
        _push(settings, con, ("identity",))
    with psycopg2.connect(settings.postgres_url) as pg, pg.cursor() as cur:
        cur.execute("select to_regclass('identity.a_fine')")
        assert cur.fetchone() == (None,)  # one transaction: the table pushed before the error is gone too


def test_given_the_postgres_target_when_a_stage_fails_then_nothing_is_pushed(settings: Settings) -> None:
    with pytest.raises(RuntimeError, match="stage broke"):
        with stage_connection(settings, push=("identity",)) as con:
            con.execute("create schema if not exists identity")
            con.execute("create table identity.partial as select 1 as id")
            raise RuntimeError("stage broke")
    with psycopg2.connect(settings.postgres_url) as pg, pg.cursor() as cur:
        cur.execute("select to_regclass('identity.partial')")
        assert cur.fetchone() == (None,)
    assert not any(sync.scratch_dir(settings).iterdir())  # the scratch DuckDB file is removed


def _place(settings: Settings, fixture: str, channel: str, name: str) -> Path:
    assert settings.landing_root is not None
    target = settings.landing_root / channel / DAY.isoformat() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / fixture, target)
    return target


def _pg_counts(settings: Settings) -> tuple[int, int, int]:
    with psycopg2.connect(settings.postgres_url) as pg, pg.cursor() as cur:
        cur.execute("select count(*) from raw.surveys")
        raw = cur.fetchone()[0]
        cur.execute("select count(*) from audit.quarantine where channel = 'surveys'")
        quarantined = cur.fetchone()[0]
        cur.execute("select count(*) from audit.file_manifest where channel = 'surveys'")
        return raw, quarantined, cur.fetchone()[0]


def _cache_counts(settings: Settings) -> tuple[int, int, int]:
    with connect(settings, read_only=True) as con:
        return (
            con.execute("select count(*) from raw.surveys").fetchone()[0],
            con.execute("select count(*) from audit.quarantine where channel = 'surveys'").fetchone()[0],
            con.execute("select count(*) from audit.file_manifest where channel = 'surveys'").fetchone()[0],
        )


def test_given_ingest_on_postgres_when_a_file_changes_then_postgres_holds_exactly_the_cache_rows(
    settings: Settings,
) -> None:
    _place(settings, "surveys_good.csv", "surveys", "surveys.csv")
    _place(settings, "surveys_malformed.csv", "surveys", "surveys_extra.csv")
    load_channel(settings, "surveys", DAY, "run-1")
    assert _pg_counts(settings) == _cache_counts(settings)
    first = _pg_counts(settings)
    assert first[0] > 0 and first[1] > 0

    load_channel(settings, "surveys", DAY, "run-2")  # nothing new: only the 'unchanged' manifest rows
    assert _pg_counts(settings) == _cache_counts(settings) == (first[0], first[1], first[2] + 2)

    _place(settings, "surveys_malformed.csv", "surveys", "surveys.csv")  # same name, new content
    load_channel(settings, "surveys", DAY, "run-3")
    assert _pg_counts(settings) == _cache_counts(settings)
    with psycopg2.connect(settings.postgres_url) as pg, pg.cursor() as cur:
        cur.execute(
            "select source_file, rows_loaded from audit.file_manifest_current where channel = 'surveys' "
            "order by source_file"
        )
        current = cur.fetchall()
        cur.execute(
            "select _source_file, count(distinct _source_line) from raw.surveys group by 1 order by 1"
        )
        assert cur.fetchall() == [(f, n) for f, n in current if n > 0]


def test_given_ingest_ran_on_duckdb_only_when_the_target_becomes_postgres_then_the_next_ingest_catches_up(
    settings: Settings,
) -> None:
    _place(settings, "surveys_good.csv", "surveys", "surveys.csv")
    load_channel(settings.with_overrides(target="duckdb"), "surveys", DAY, "run-1")  # e.g. a push that failed
    load_channel(settings, "surveys", DAY, "run-2")
    assert _pg_counts(settings) == _cache_counts(settings)
    assert _pg_counts(settings)[0] == 2


def test_given_a_dates_scores_in_postgres_when_a_rerun_of_that_date_writes_none_then_its_old_scores_are_gone(
    settings: Settings, tmp_path: Path
) -> None:
    """GIVEN churn scores for 2026-03-01 and 2026-03-02 in PostgreSQL
    WHEN 2026-03-02 is rerun and its model stage leaves no score (the date is cleared, nothing inserted)
    THEN PostgreSQL keeps 2026-03-01's scores and holds none of 2026-03-02's: the write-back deletes the
    date it replaced, not only the dates present in its scratch copy."""
    from customer360.churn import stage as churn_stage
    from customer360.model_runs import clear_churn

    first = duckdb.connect(str(tmp_path / "first.duckdb"))
    first.execute("create schema analytics")
    first.execute(churn_stage.PREDICTIONS_DDL)
    first.execute(
        f"insert into {churn_stage.PREDICTIONS_TABLE} (customer_id, as_of_date, churn_score, churn_band) "
        "values ('c1', date '2026-03-01', 0.2, 'low'), ('c1', date '2026-03-02', 0.7, 'high'), "
        "('c2', date '2026-03-02', 0.4, 'medium')"
    )
    _push(settings, first, (churn_stage.PREDICTIONS_TABLE,))

    clear_churn(settings, date(2026, 3, 2))

    with psycopg2.connect(settings.postgres_url) as pg, pg.cursor() as cur:
        cur.execute(
            "select customer_id, as_of_date::text, churn_band "
            f"from {churn_stage.PREDICTIONS_TABLE} order by 2, 1"
        )
        assert cur.fetchall() == [("c1", "2026-03-01", "low")]
