"""The Spark stages' SQL rewrites and session settings, without starting Spark (the runs: tests/spark)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from customer360.identity.match_model import MatchModel, comparisons, splink_settings
from customer360.quality.gx_spark import spark_sql
from customer360.settings import Settings
from customer360.spark.session import session_parameters
from customer360.spark.splink_model import spark_condition, spark_corroborated_sql, spark_settings


def _model() -> MatchModel:
    return MatchModel(1, splink_settings(), {}, {}, 0, 0, "", "")


def test_given_a_duckdb_jaro_winkler_condition_when_read_for_spark_then_no_empty_string_reaches_splinks():
    condition = spark_condition('jaro_winkler_similarity("given_name_l", "given_name_r") >= 0.92')
    assert condition == "JARO_WINKLER(NULLIF(`given_name_l`, ''), NULLIF(`given_name_r`, '')) >= 0.92"


def test_given_duckdb_date_and_regex_functions_when_read_for_spark_then_spark_forms_are_written():
    assert spark_condition("""abs(date_diff('day', "b_l", "b_r")) <= 365""") == (
        "ABS(DATEDIFF(DAY, `b_l`, `b_r`)) <= 365"
    )
    # DuckDB needs 'g' to replace every match; Spark replaces every match, and its 4th argument is a position
    assert spark_condition("""regexp_replace("e_l", '[^0-9]', '', 'g') = '1'""") == (
        "REGEXP_REPLACE(`e_l`, '[^0-9]', '') = '1'"
    )
    assert spark_condition("ELSE") == "ELSE"


def test_given_the_model_when_read_for_spark_then_only_the_conditions_change():
    model = _model()
    settings = spark_settings(model)
    for original, rewritten in zip(comparisons(), settings["comparisons"], strict=True):
        for before, after in zip(original["comparison_levels"], rewritten["comparison_levels"], strict=True):
            assert after.get("m_probability") == before.get("m_probability")
            assert after.get("u_probability") == before.get("u_probability")
            assert "jaro_winkler_similarity" not in after["sql_condition"].lower()
            assert '"' not in after["sql_condition"]
    assert settings["blocking_rules_to_generate_predictions"][0] == (
        "l.bk_bd_first = r.bk_bd_first AND l.det_label <> r.det_label"
    )
    assert model.splink["comparisons"][0]["comparison_levels"][3]["sql_condition"].startswith(
        "jaro_winkler_similarity"
    )  # the model itself is not changed
    corroborated = spark_corroborated_sql(model)
    assert "JARO_WINKLER(NULLIF(`street_fold_l`, '')" in corroborated and '"' not in corroborated


def test_given_a_suite_query_for_duckdb_when_read_for_spark_then_batch_stays_and_quotes_are_backticks():
    query = """select "customer_key" from {batch} where loaded_on > date '2026-11-20' and x::int > 1"""
    assert spark_sql(query) == (
        "SELECT `customer_key` FROM {batch} "
        "WHERE loaded_on > CAST('2026-11-20' AS DATE) AND CAST(x AS INT) > 1"
    )


def test_given_spark_settings_when_the_session_is_configured_then_it_is_the_dbt_profiles_session(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path, spark_dir=tmp_path / "spark", target="spark", spark_master="local[2]")
    parameters = session_parameters(settings)
    assert parameters["spark.master"] == "local[2]"
    assert parameters["spark.sql.warehouse.dir"] == f"{tmp_path / 'spark'}/warehouse"
    assert parameters["spark.sql.session.timeZone"] == "UTC"
    assert (
        f"databaseName={tmp_path / 'spark'}/metastore_db"
        in parameters["spark.hadoop.javax.jdo.option.ConnectionURL"]
    )


def test_given_a_profile_variable_the_settings_do_not_set_when_configured_then_the_processs_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dbt renders profiles.yml from the process's environment; the stages' session must say the same.
    settings = Settings(home=tmp_path, spark_dir=tmp_path / "spark", target="spark", spark_master="local[2]")
    monkeypatch.delenv("CUSTOMER360_SPARK_SHUFFLE_PARTITIONS", raising=False)
    assert session_parameters(settings)["spark.sql.shuffle.partitions"] == "4"
    monkeypatch.setenv("CUSTOMER360_SPARK_SHUFFLE_PARTITIONS", "1")
    monkeypatch.setenv("CUSTOMER360_SPARK_DIR", "/elsewhere")
    parameters = session_parameters(settings)
    assert parameters["spark.sql.shuffle.partitions"] == "1"
    # a variable the settings set is the settings' value
    assert parameters["spark.sql.warehouse.dir"] == f"{tmp_path / 'spark'}/warehouse"


def test_given_scored_pairs_of_a_component_when_made_edges_then_they_join_record_numbers_in_record_order():
    from customer360.spark.identity import _probabilistic_edges

    # rows in record order have row ids 30, 10, 20: a pair (10, 30) joins records 1 and 0
    row_ids = np.array([30, 10, 20])
    pairs = pa.table(
        {
            "idx_l": [20, 10],
            "idx_r": [10, 30],
            "match_probability": [0.91234567891, 0.85],
            "match_weight": [7.456, 5.0],
        }
    )
    edges = _probabilistic_edges(pairs, row_ids)
    assert edges.left.tolist() == [0, 1] and edges.right.tolist() == [1, 2]
    assert edges.score.tolist() == [0.85, 0.912345679]
    assert edges.key.to_pylist() == ["w=5.00", "w=7.46"]
    assert set(edges.priority.tolist()) == {5}


def test_given_every_identity_output_when_tagged_for_spark_then_one_schema_holds_each_tables_columns():
    import duckdb

    from customer360.identity.stable_ids import ensure_state_tables
    from customer360.spark.identity_tables import OUTPUT_TABLES, conform, create_empty_outputs, output_schema

    schema = output_schema()
    con = duckdb.connect()
    ensure_state_tables(con)
    create_empty_outputs(con)
    for table in OUTPUT_TABLES:
        columns = [row[0] for row in con.execute(f"describe {table}").fetchall()]
        assert set(columns) <= set(schema.names), table
        empty = conform(con.sql(f"select * from {table}").to_arrow_table(), table, schema)
        assert empty.schema == schema and empty.num_rows == 0


def test_given_the_spark_target_when_the_pipeline_asks_for_identity_then_it_gets_the_spark_stage(
    tmp_path: Path,
) -> None:
    from customer360.spark.identity import resolve_on_spark
    from customer360.warehouse import spark_identity_stage

    assert spark_identity_stage(Settings(home=tmp_path, target="spark")) is resolve_on_spark
    assert spark_identity_stage(Settings(home=tmp_path, target="duckdb")) is None


def _key_components(prepared: pa.Table) -> np.ndarray:
    """Each prepared row's key component: ``spark.components.key_pairs`` and ``connected_rows`` in Python."""
    from customer360.spark.components import PHONE_TAIL_DIGITS

    parent = list(range(prepared.num_rows))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[tuple[str, str], int] = {}
    keys = {
        k: prepared.column(k).to_pylist() for k in ("record_key", "account_key", "loyalty_key", "email_key")
    }
    keys["phone"] = [
        d[-PHONE_TAIL_DIGITS:] if d and len(d) >= PHONE_TAIL_DIGITS else d
        for d in prepared.column("phone_digits").to_pylist()
    ]
    for kind, values in keys.items():
        for row, value in enumerate(values):
            if value is not None:
                parent[root(row)] = root(first_with.setdefault((kind, value), row))
    return np.array([root(i) for i in range(prepared.num_rows)])


def test_given_a_bucket_of_components_when_resolved_together_then_each_component_resolves_as_alone(
    tmp_path: Path,
) -> None:
    """Identity on Spark runs the DuckDB stage's code per bucket of whole components: a bucket must give each
    of its components the rows that component gives on its own (no edge or comparison crosses one)."""
    from customer360.identity.blocking import DEFAULT_MAX_BLOCK_SIZE
    from customer360.identity.blocklist import load_blocklist
    from customer360.identity.phone_regions import channel_regions
    from customer360.identity.rules import build_ruleset, guards_for
    from customer360.spark.components import ROW_ID
    from customer360.spark.identity import _deterministic_component, _prepare_batch, _resolve_component, _Run
    from customer360.spark.identity_tables import output_schema
    from customer360_dev.identity_synthetic import synthetic_records

    settings = Settings(home=tmp_path, target="spark")
    blocklist, guards = load_blocklist(), guards_for(settings)
    run = _Run(
        settings=settings,
        blocklist=blocklist,
        guards=guards,
        channel_regions=channel_regions(settings),
        ruleset=build_ruleset(settings, blocklist, guards, DEFAULT_MAX_BLOCK_SIZE, _model()),
        as_of_date=date(2026, 11, 20),
        run_id="bucket",
    )
    records, _ = synthetic_records(100, seed=7)
    source = records.append_column(ROW_ID, pa.array(np.arange(records.num_rows) * 3 + 5, pa.int64()))
    prepared = _prepare_batch(source, run)
    component = _key_components(prepared)
    # GIVEN a bucket of twelve whole components: the six largest and six more (the per-component runs below
    # pay the stage's fixed cost each, so not all of them)
    values, sizes = np.unique(component, return_counts=True)
    by_size = values[np.argsort(-sizes, kind="stable")]
    chosen = np.concatenate([by_size[:6], by_size[-6:]])
    prepared = prepared.append_column("component", pa.array(component, pa.int64()))
    bucket = prepared.filter(pc.is_in(prepared.column("component"), pa.array(chosen, pa.int64())))
    alone = [bucket.filter(pc.equal(bucket.column("component"), int(c))) for c in chosen]
    assert sizes.max() > 2 and sum(t.num_rows for t in alone) == bucket.num_rows
    no_pairs = pa.schema(
        [("idx_l", pa.int64()), ("idx_r", pa.int64()), ("match_probability", pa.float64()),
         ("match_weight", pa.float64())]
    ).empty_table()  # fmt: skip
    schema = output_schema()

    def rows(table: pa.Table, columns: list[str]) -> list[tuple]:
        return sorted(tuple(str(v) for v in r.values()) for r in table.select(columns).to_pylist())

    # WHEN the deterministic pass and the clustering run over the bucket and over each component alone
    together = _deterministic_component(bucket, run)
    each = pa.concat_tables([_deterministic_component(t, run) for t in alone])
    resolved_together = _resolve_component(bucket, no_pairs, run, schema)
    resolved_each = pa.concat_tables([_resolve_component(t, no_pairs, run, schema) for t in alone])
    # THEN both give the same rows (the registry's sequence is numbered over all new ids by write_outputs)
    assert together.num_rows == bucket.num_rows
    assert rows(together, together.column_names) == rows(each, each.column_names)
    assert resolved_together.num_rows > bucket.num_rows
    columns = [c for c in schema.names if c != "sequence"]
    assert rows(resolved_together, columns) == rows(resolved_each, columns)
