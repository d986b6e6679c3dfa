"""Analyst access: `customer360 sql` output formats, spreadsheet-safe CSV, read-only guard, missing snapshot,
the Python helper and the SQLAlchemy URL BI tools use."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

import duckdb
import pytest

from customer360.analyst import SnapshotNotFoundError, connect_snapshot, sqlalchemy_url
from customer360.analyst.commands import register
from customer360.analyst.sql import spreadsheet_safe, write_csv
from customer360.settings import Settings
from tests.support import published_snapshot


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("analyst"))
    published_snapshot.publish_fixture_snapshot(settings)
    return settings


@pytest.fixture
def sql(published, monkeypatch, capsys):
    """Run `customer360 sql ...` against the published fixture; returns (exit code, stdout, stderr)."""
    from customer360.settings import get_settings

    def run(*argv: str, home: Path | None = None) -> tuple[int, str, str]:
        monkeypatch.setenv("CUSTOMER360_HOME", str(home or published.home))
        get_settings.cache_clear()
        try:
            parser = argparse.ArgumentParser()
            register(parser.add_subparsers())
            args = parser.parse_args(["sql", *argv])
            code = args.func(args)
        finally:
            get_settings.cache_clear()
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_table_format_aligns_columns_and_counts_rows(sql) -> None:
    """GIVEN the published snapshot WHEN a grouped query runs with the default format THEN the output is a
    header, a rule, one aligned line per row (numbers right-aligned, NULL shown) and the row count."""
    code, out, err = sql(
        "select lifecycle_stage, count(*) as customers, null as note from customer_lifecycle "
        "group by 1 order by 1 limit 3"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split(" | ") == ["lifecycle_stage", "customers", "note"]
    assert set(lines[1]) <= {"-", "+"}
    assert len(lines) == 2 + 3 + 1 and lines[-1] == "(3 rows)"
    first = lines[2].split(" | ")
    assert first[0].strip() == "at_risk" and first[1].strip().isdigit() and first[2].strip() == "NULL"
    assert lines[2].index("|") == lines[0].index("|")  # aligned


def test_table_format_caps_rows_and_says_how_many_there_are(sql) -> None:
    """GIVEN a 60-row result WHEN --max-rows 5 is given THEN five rows show and the footer gives the total."""
    code, out, _ = sql("select customer_id from dim_customers order by 1", "--max-rows", "5")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 + 5 + 1
    assert lines[-1].startswith("(60 rows, first 5 shown")


def test_csv_format_writes_every_row_with_header(sql) -> None:
    """GIVEN the snapshot WHEN --format csv THEN a header and every row are written, booleans as true/false,
    NULL as an empty field, numbers as numbers."""
    code, out, _ = sql(
        "select customer_id, is_hidden_gem, null as nothing, -1.5 as negative "
        "from customer_influence order by 1",
        "--format",
        "csv",
    )
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["customer_id", "is_hidden_gem", "nothing", "negative"]
    assert len(rows) == 1 + 60
    assert rows[1][1] in ("true", "false") and rows[1][2] == "" and rows[1][3] == "-1.5"


def test_csv_format_neutralises_spreadsheet_formulas(sql) -> None:
    """GIVEN text values starting with = + - @ tab or CR WHEN written as CSV THEN each is prefixed with a
    single quote, other text and numbers are untouched."""
    code, out, _ = sql(
        "select * from (values "
        "('=HYPERLINK(\"http://x\")'), ('+1+2'), ('-2+3'), ('@SUM(A1)'), "
        "(chr(9) || '=1'), (chr(13) || '=1'), "
        "('plain'), ('a=b')) as t(v)",
        "--format",
        "csv",
    )
    assert code == 0
    values = [row[0] for row in csv.reader(io.StringIO(out))][1:]
    assert values == [
        '\'=HYPERLINK("http://x")',
        "'+1+2",
        "'-2+3",
        "'@SUM(A1)",
        "'\t=1",
        "'\r=1",
        "plain",
        "a=b",
    ]
    assert spreadsheet_safe(-3) == -3 and spreadsheet_safe("x-1") == "x-1"
    buffer = io.StringIO()
    write_csv(["=cmd"], iter([[("=1",)]]), buffer)  # header cells too
    assert buffer.getvalue() == "'=cmd\r\n'=1\r\n"


def test_json_format_is_an_array_of_objects_with_typed_values(sql) -> None:
    """GIVEN dates, decimals, booleans, lists and structs WHEN --format json THEN the output parses as a list
    of objects: dates ISO strings, decimals numbers, booleans, nested values kept."""
    code, out, _ = sql(
        "select customer_id, as_of_date, monetary, r_score = 5 as recent, [r_score, f_score] as scores, "
        "{'segment': rfm_segment} as info from customer_rfm order by customer_id limit 2",
        "--format",
        "json",
    )
    assert code == 0
    records = json.loads(out)
    assert len(records) == 2
    first = records[0]
    assert first["as_of_date"] == published_snapshot.AS_OF_DATE
    assert isinstance(first["monetary"], float) and isinstance(first["recent"], bool)
    assert isinstance(first["scores"], list) and set(first["info"]) == {"segment"}
    code, out, _ = sql("select 1 as x where false", "--format", "json")
    assert json.loads(out) == []


def test_writes_fail_because_the_snapshot_is_read_only(sql, published) -> None:
    """GIVEN the published snapshot WHEN a query tries to delete, create or insert THEN the command fails with
    DuckDB's read-only message and a hint, and the data is unchanged."""
    for statement in (
        "delete from customer_rfm",
        "create table mine as select 1 as x",
        "insert into dim_customers (customer_id) values ('X')",
    ):
        code, out, err = sql(statement)
        assert code == 1, statement
        assert "read-only" in err and "The published snapshot is read-only" in err
    code, out, _ = sql("select count(*) as n from customer_rfm", "--format", "csv")
    assert out.splitlines()[1] == "54"


def test_query_error_is_reported_without_a_traceback(sql) -> None:
    """GIVEN a query on a table that does not exist WHEN it runs THEN exit code 1 and DuckDB's message."""
    code, out, err = sql("select * from no_such_mart")
    assert code == 1 and out == ""
    assert err.startswith("customer360 sql: the query failed:") and "no_such_mart" in err


def test_no_snapshot_yet_says_where_it_looked_and_what_to_do(sql, tmp_path: Path) -> None:
    """GIVEN a home with nothing published WHEN `customer360 sql` runs THEN exit code 1 and a message naming
    the missing file and the command that publishes one."""
    code, out, err = sql("select 1", home=tmp_path / "empty-home")
    assert code == 1 and out == ""
    assert "no published snapshot yet" in err
    assert str(tmp_path / "empty-home" / "published" / "current" / "marts.duckdb") in err
    assert "customer360 run" in err
    with pytest.raises(SnapshotNotFoundError):
        connect_snapshot(Settings(home=tmp_path / "empty-home"))


def test_snapshot_option_reads_a_named_snapshot_folder(sql, published, tmp_path: Path) -> None:
    """GIVEN --snapshot naming a snapshot folder WHEN a query runs THEN it reads that snapshot."""
    folder = (published.published_dir / "current").resolve()
    code, out, _ = sql(
        "select count(*) as n from dim_customers", "--format", "csv", "--snapshot", str(folder)
    )
    assert code == 0 and out.splitlines() == ["n", "60"]
    code, _, err = sql("select 1", "--snapshot", str(tmp_path / "nowhere"))
    assert code == 1 and "no snapshot database at" in err


def test_connect_snapshot_returns_a_read_only_connection(published) -> None:
    """GIVEN the published snapshot WHEN connect_snapshot opens it THEN reads work and a write raises."""
    con = connect_snapshot(published)
    try:
        assert con.execute("select count(*) from customer_clv").fetchone()[0] == 60
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("drop table customer_clv")
    finally:
        con.close()


def test_sqlalchemy_url_reads_and_refuses_writes(published) -> None:
    """GIVEN the documented URL duckdb:////<abs path>?access_mode=read_only and its connect_args form
    WHEN used through SQLAlchemy (duckdb-engine) THEN a select returns rows and an insert fails."""
    import sqlalchemy as sa

    url = sqlalchemy_url(published)
    database = published.published_dir / "current" / "marts.duckdb"
    assert url == f"duckdb:///{database}?access_mode=read_only&enable_external_access=false"
    assert url.startswith("duckdb:////")
    for engine in (
        sa.create_engine(url, poolclass=sa.pool.NullPool),
        sa.create_engine(
            f"duckdb:///{database}", connect_args={"read_only": True}, poolclass=sa.pool.NullPool
        ),
    ):
        try:
            with engine.connect() as conn:
                assert conn.execute(sa.text("select count(*) from dim_customers")).scalar_one() == 60
                with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                    conn.execute(sa.text("insert into dim_customers (customer_id) values ('X')"))
        finally:
            engine.dispose()
    con = connect_snapshot(published)
    assert con.execute("select count(*) from dim_customers where customer_id = 'X'").fetchone()[0] == 0
    con.close()
