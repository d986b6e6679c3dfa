"""The DuckDB compatibility layer (customer360.quality.gx_duckdb) on one million rows, in-database.

Each expectation type is shown to PASS on a column where it holds and to FAIL with the right unexpected count
where it does not: a broken GX path also reports success=False, so a failure alone proves nothing.
Timings are printed (run with -s) and recorded as test properties; they are not asserted.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

gx = pytest.importorskip("great_expectations")

from customer360.quality.gx_duckdb import (  # noqa: E402 - after the GX import check
    DuckDBInspector,
    add_duckdb_datasource,
    quiet_gx_logging,
)
from customer360.quality.query_check import SAMPLE_ROWS, ExpectQueryToReturnNoRows  # noqa: E402
from customer360.quality.specs import EMAIL_REGEX  # noqa: E402
from customer360.warehouse import ALLOCATOR_CONFIG  # noqa: E402

ROWS = 1_000_000
E = gx.expectations


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gx_duckdb") / "compat.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        f"""
        create schema data;
        create table data.events as
        select
            i as id,
            case when i < 5 then i + 5 else i end as id_with_duplicates,  -- ids 5..9 twice: 10 rows
            case when i % 10 = 0 then null else 'user' || i || '@example.com' end as email,
            case when i % 250000 = 7 then 'user' || i || ' at example.com' else 'u' || i || '@example.org' end
                as email_with_typos,                                        -- 4 rows without an @
            (i % 1000) / 10.0 as amount,                                    -- 0.0 .. 99.9
            ['web', 'pos', 'crm'][i % 3 + 1] as channel,
            case when i % 3 = 0 then 'Sale' else 'return' end as kind       -- raw text, mixed case
        from range({ROWS}) as r(i)
        """
    )
    con.close()
    return path


@pytest.fixture(scope="module")
def batch(database: Path):
    quiet_gx_logging()
    context = gx.get_context(mode="ephemeral")
    datasource = add_duckdb_datasource(context, "compat", database)
    asset = datasource.add_table_asset(name="data.events", table_name="events", schema_name="data")
    return asset.add_batch_definition_whole_table("whole").get_batch()


def _validate(batch, expectation, record_property) -> dict:
    started = time.perf_counter()
    result = batch.validate(expectation, result_format="SUMMARY")
    seconds = time.perf_counter() - started
    name = f"{type(expectation).__name__}({getattr(expectation, 'column', '')})"
    record_property(name, round(seconds, 3))
    print(f"{name} on {ROWS:,} rows: {seconds:.3f}s success={result.success}")
    info = result.exception_info or {}
    assert not info.get("raised_exception"), info
    assert all(not v.get("raised_exception") for v in info.values() if isinstance(v, dict)), info
    return result.to_json_dict()


def test_unique_passes_on_a_key_and_counts_duplicates(batch, record_property) -> None:
    """GIVEN 1M rows with a unique id and a column where 5 values occur twice
    WHEN ExpectColumnValuesToBeUnique runs in DuckDB
    THEN the key passes with element_count 1M and the other fails with exactly the 10 duplicated rows."""
    good = _validate(batch, E.ExpectColumnValuesToBeUnique(column="id"), record_property)
    bad = _validate(batch, E.ExpectColumnValuesToBeUnique(column="id_with_duplicates"), record_property)
    assert good["success"] and good["result"]["element_count"] == ROWS
    assert good["result"]["unexpected_count"] == 0
    assert not bad["success"] and bad["result"]["unexpected_count"] == 10
    assert set(bad["result"]["partial_unexpected_list"]) == {5, 6, 7, 8, 9}


def test_not_null_counts_the_nulls(batch, record_property) -> None:
    """GIVEN an email column null on every tenth row WHEN ExpectColumnValuesToNotBeNull runs
    THEN it fails with 100,000 unexpected; on the id column it passes."""
    bad = _validate(batch, E.ExpectColumnValuesToNotBeNull(column="email"), record_property)
    good = _validate(batch, E.ExpectColumnValuesToNotBeNull(column="id"), record_property)
    assert not bad["success"] and bad["result"]["unexpected_count"] == ROWS // 10
    assert good["success"] and good["result"]["element_count"] == ROWS


def test_between_uses_the_real_range(batch, record_property) -> None:
    """GIVEN amounts from 0.0 to 99.9 WHEN ExpectColumnValuesToBeBetween runs with [0, 100] and with [0, 50]
    THEN the first passes and the second fails with the 49.9% of rows above 50."""
    good = _validate(
        batch, E.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=100), record_property
    )
    bad = _validate(
        batch, E.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=50), record_property
    )
    assert good["success"] and good["result"]["unexpected_count"] == 0
    assert not bad["success"] and bad["result"]["unexpected_count"] == ROWS * 499 // 1000
    assert all(v > 50 for v in bad["result"]["partial_unexpected_list"])


def test_in_set_counts_values_outside_the_set(batch, record_property) -> None:
    """GIVEN three channels in equal thirds WHEN ExpectColumnValuesToBeInSet runs with all three and with two
    THEN the first passes and the second fails with every 'crm' row."""
    good = _validate(
        batch,
        E.ExpectColumnValuesToBeInSet(column="channel", value_set=["web", "pos", "crm"]),
        record_property,
    )
    bad = _validate(
        batch, E.ExpectColumnValuesToBeInSet(column="channel", value_set=["web", "pos"]), record_property
    )
    assert good["success"]
    assert not bad["success"] and bad["result"]["unexpected_count"] == ROWS // 3
    assert set(bad["result"]["partial_unexpected_list"]) == {"crm"}


def test_regex_runs_in_duckdb_with_search_semantics(batch, record_property) -> None:
    """GIVEN emails (10% null) and a column with 4 typos WHEN ExpectColumnValuesToMatchRegex runs
    THEN valid emails pass (nulls are ignored), the 4 typos are counted, an unanchored pattern matches
    anywhere (search, like GX's pandas engine, not DuckDB's full-match ~), and (?i) ignores case."""
    emails = _validate(
        batch, E.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_REGEX), record_property
    )
    typos = _validate(
        batch, E.ExpectColumnValuesToMatchRegex(column="email_with_typos", regex=EMAIL_REGEX), record_property
    )
    search = _validate(
        batch, E.ExpectColumnValuesToMatchRegex(column="email", regex="example"), record_property
    )
    cased = _validate(
        batch, E.ExpectColumnValuesToMatchRegex(column="kind", regex="(?i)^(sale|return)$"), record_property
    )
    strict = _validate(
        batch, E.ExpectColumnValuesToMatchRegex(column="kind", regex="^(sale|return)$"), record_property
    )
    not_match = _validate(
        batch, E.ExpectColumnValuesToNotMatchRegex(column="email_with_typos", regex=" at "), record_property
    )
    assert emails["success"] and emails["result"]["missing_count"] == ROWS // 10
    assert not typos["success"] and typos["result"]["unexpected_count"] == 4
    assert search["success"]
    assert cased["success"]
    assert not strict["success"] and set(strict["result"]["partial_unexpected_list"]) == {"Sale"}
    assert not not_match["success"] and not_match["result"]["unexpected_count"] == 4


def test_query_check_counts_all_rows_and_samples_a_few(batch, record_property) -> None:
    """GIVEN a SQL check matching half a million rows and one matching none
    WHEN ExpectQueryToReturnNoRows runs THEN it reports the full count with a small sample, and passes
    on the empty query."""
    bad = _validate(
        batch,
        ExpectQueryToReturnNoRows(unexpected_rows_query="select id, amount from {batch} where amount >= 50"),
        record_property,
    )
    good = _validate(
        batch,
        ExpectQueryToReturnNoRows(unexpected_rows_query="select id from {batch} where amount < 0"),
        record_property,
    )
    assert not bad["success"] and bad["result"]["observed_value"] == ROWS // 2
    sample = bad["result"]["details"]["unexpected_rows"]
    assert len(sample) == SAMPLE_ROWS and all(row["amount"] >= 50 for row in sample)
    assert good["success"] and good["result"]["observed_value"] == 0


def test_query_check_reads_its_rows_only_when_it_fails(batch, record_property, monkeypatch) -> None:
    """GIVEN SQL checks that pass and fail WHEN they run THEN a passing check runs its query once (the
    count), and a failing one runs it a second time for the sample rows."""
    from customer360.quality import gx_duckdb

    queries: list[str] = []
    execute = gx_duckdb.DuckDBExecutionEngine.execute_query

    def recorded(self, query):
        queries.append(str(query))
        return execute(self, query)

    monkeypatch.setattr(gx_duckdb.DuckDBExecutionEngine, "execute_query", recorded)
    passing = "select id from {batch} where amount > 1000"
    failing = "select id from {batch} where amount > 99.85"

    good = _validate(batch, ExpectQueryToReturnNoRows(unexpected_rows_query=passing), record_property)
    passing_runs = [q for q in queries if "amount > 1000" in q]
    queries.clear()
    bad = _validate(batch, ExpectQueryToReturnNoRows(unexpected_rows_query=failing), record_property)
    failing_runs = [q for q in queries if "amount > 99.85" in q]

    assert good["success"] and good["result"]["observed_value"] == 0
    assert good["result"]["details"]["unexpected_rows"] == []
    assert len(passing_runs) == 1 and "count(" in passing_runs[0].lower()
    assert not bad["success"] and bad["result"]["observed_value"] == ROWS // 1000  # amount 99.9
    assert len(failing_runs) == 2
    assert [row["id"] % 1000 for row in bad["result"]["details"]["unexpected_rows"]] == [999] * SAMPLE_ROWS


def test_inspector_reads_columns_and_types_from_duckdb(database: Path) -> None:
    """GIVEN the DuckDB file WHEN DuckDBInspector lists columns of a schema-qualified table
    THEN it returns every column with a SQLAlchemy type, and a missing table raises NoSuchTableError."""
    import sqlalchemy as sa

    # DuckDB refuses a second connection to a file open in this process with another configuration: open
    # it as the module's GX datasource does.
    engine = sa.create_engine(
        f"duckdb:///{database}", connect_args={"read_only": True, "config": dict(ALLOCATOR_CONFIG)}
    )
    try:
        inspector = DuckDBInspector(engine)
        columns = inspector.get_columns("events", schema="data")
        assert [c["name"] for c in columns][:3] == ["id", "id_with_duplicates", "email"]
        types = {c["name"]: c["type"] for c in columns}
        assert isinstance(types["id"], sa.BigInteger)
        assert isinstance(types["email"], sa.String)
        with pytest.raises(sa.exc.NoSuchTableError):
            inspector.get_columns("nope", schema="data")
    finally:
        engine.dispose()


def test_without_the_layer_gx_reads_no_metrics(database: Path) -> None:
    """GIVEN GX's generic SQL datasource on the same file (no compatibility layer)
    WHEN a not-null expectation runs THEN it cannot compute its metrics: this is why gx_duckdb exists
    (if this test starts failing, a GX or duckdb-engine upgrade fixed the generic path)."""
    context = gx.get_context(mode="ephemeral")
    datasource = context.data_sources.add_sql(
        "plain",
        connection_string=f"duckdb:///{database}",
        kwargs={"connect_args": {"read_only": True, "config": dict(ALLOCATOR_CONFIG)}},  # as the layer's
    )
    batch = (
        datasource.add_table_asset(name="events", table_name="events", schema_name="data")
        .add_batch_definition_whole_table("whole")
        .get_batch()
    )
    try:
        result = batch.validate(E.ExpectColumnValuesToNotBeNull(column="id"))
        assert not result.success
        assert result.result == {} or result.result.get("element_count") in (None, 0)
    finally:
        datasource.get_engine().dispose()
