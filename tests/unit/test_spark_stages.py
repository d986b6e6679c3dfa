"""The Spark stages' SQL rewrites and session settings, without starting Spark (the runs: tests/spark)."""

from __future__ import annotations

from pathlib import Path

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
    import numpy as np
    import pyarrow as pa

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
