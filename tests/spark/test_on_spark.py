"""The stages on Spark give DuckDB's answers: Great Expectations, identity, and the pipeline for one date.

One Spark session and warehouse serve every test here (tests/spark/conftest.py says why they are one module).

Great Expectations: GIVEN one small table with a null key, a duplicate key and a late row, and one suite of
the kinds the project's suites use, over the whole table and over selected rows (``validation_case``), WHEN
the runner validates them on DuckDB and on Spark (GX's Spark datasource, ``quality.gx_spark``), THEN every
expectation has the same status and unexpected count on both, and the failing ones fail on Spark.

Identity: GIVEN generated identity input (``customer360_dev.identity_synthetic``: typos, variant emails and
phones, CRM versions, households, namesakes, role emails) and one trained match model file, WHEN identity
resolves the records once on DuckDB (``identity.resolve``) and once on Spark
(``customer360.spark.identity.resolve_on_spark``, Splink's Spark backend), THEN every identity table the core
build reads holds the same rows on both: the customer of every record (same clusters, same stable ids), the
match rule and score, the contact points, the household values, every edge with its status and guard, and the
id registry.

Pipeline: GIVEN 21 days of generated landing data for 100 customers, WHEN the pipeline runs for one date on
DuckDB and on Spark (separate homes, same landing root and salt; ``parity_runs``; identity on Spark with the
model the DuckDB run trained, the models stage's tables handed over from DuckDB), THEN every table the
staging build made, every identity table and every published mart (the DuckDB snapshot publish makes from
Spark's Parquet marts) are equal on both: same tables, columns and rows.

CLV: GIVEN that run's purchase days on Spark, WHEN the CLV summary, its population statistics, the Pareto/NBD
fit and the scores are computed in Spark (``customer360.spark.clv``), THEN the statistics and the fit are
DuckDB's, and every customer's prediction equals the DuckDB stage's under its models (which fall back on this
few customers) and DuckDB's under fitted parameters.

Churn: GIVEN a churn model fitted on simulated customers, WHEN it scores them on Spark batch by batch
(``customer360.spark.churn``, a pandas UDF), THEN every score, band and reason is the stage's scoring's.

Floats are equal within ``compare.FLOAT_TOLERANCE`` (relative or absolute); every other value is equal.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from customer360 import model_artifacts
from customer360.churn import model as churn_model
from customer360.churn import warehouse_features
from customer360.churn.features import REQUIRED_COLUMNS, labels_from_features, validate_features
from customer360.churn.simulate import simulate_features
from customer360.clv import gamma_gamma, pareto_nbd
from customer360.clv.fit import ClvModels, fit_models
from customer360.clv.gamma_gamma import GammaGammaParams
from customer360.clv.mle import ModelFit
from customer360.clv.predict import PREDICTION_COLUMNS, population, predict
from customer360.clv.simulate import simulate_mean_spend
from customer360.clv.stage import PREDICTIONS_TABLE, SOURCE_TABLE, load_artefact, summary_fingerprint
from customer360.clv.summary import CustomerSummary, summarize
from customer360.identity.households import HOUSEHOLD_KEYS_TABLE
from customer360.identity.stable_ids import XREF_TABLE
from customer360.publish.snapshot import current_database
from customer360.settings import Settings
from customer360.spark import churn as spark_churn
from customer360.spark import clv as spark_clv
from customer360.spark_publish import spark_table_files
from tests.spark.compare import (
    FLOAT_TOLERANCE,
    IDENTITY_TABLES,
    differences,
    duckdb_tables,
    row_differences,
    sort_key,
)
from tests.spark.conftest import AS_OF
from tests.spark.validation_case import SCHEMA, TABLE

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# The schemas the staging build writes (dbt_project.yml): seeds, staging models, identity input.
STAGING_BUILD_SCHEMAS = ("seeds", "staging", "intermediate")
# Its models (models/staging); the core build writes more `intermediate` tables, compared through the marts.
STAGING_MODELS = frozenset(
    p.stem
    for p in (Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "staging").rglob("*.sql")
)
# Marts that may be empty on this small data (none of the generated customers qualifies yet).
MAY_BE_EMPTY = ("_changed",)


def _by_check(outcomes: list) -> dict[tuple, tuple]:
    return {
        (o.suite, o.expectation, o.column, o.description): (o.status, o.unexpected_count) for o in outcomes
    }


def test_given_the_same_rows_when_validated_on_spark_then_every_check_ends_as_on_duckdb(
    validation_outcomes: dict[str, list],
) -> None:
    duckdb_checks, spark_checks = (
        _by_check(validation_outcomes["duckdb"]),
        _by_check(validation_outcomes["spark"]),
    )
    assert len(duckdb_checks) == 12
    assert spark_checks == duckdb_checks


def test_given_a_null_key_and_a_late_row_when_validated_on_spark_then_those_checks_fail(
    validation_outcomes: dict[str, list],
) -> None:
    statuses = {
        (o.expectation, o.column, o.description): o.status
        for o in validation_outcomes["spark"]
        if o.suite == f"{SCHEMA}__{TABLE}"
    }
    failed = {key for key, status in statuses.items() if status == "failed"}
    assert {key[0] for key in failed} == {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
        "unexpected_rows_expectation",
    }
    assert {key[1] for key in failed if key[0] == "expect_column_values_to_not_be_null"} == {"customer_key"}
    assert all(o.status != "error" for o in validation_outcomes["spark"])


def _text_order(row: tuple) -> tuple:
    return tuple((value is None, str(value)) for value in row)


@pytest.mark.parametrize("table", sorted(IDENTITY_TABLES))
def test_given_the_same_records_and_model_when_resolved_on_spark_then_the_table_equals_duckdbs(
    identity_resolved: dict[str, Any], table: str
) -> None:
    with duckdb.connect(str(identity_resolved["duckdb"]), read_only=True) as con:
        columns = [c[0] for c in con.execute(f"describe {table}").fetchall()]
        expected = con.execute(f"select {', '.join(columns)} from {table}").fetchall()
    spark_columns, actual = identity_resolved["tables"][table]
    assert spark_columns == columns
    if table != HOUSEHOLD_KEYS_TABLE:  # no household value among this few persons: both sides empty
        assert expected, f"{table} is empty on DuckDB: the comparison would prove nothing"
    found = row_differences(
        table, columns, sorted(expected, key=_text_order), sorted(actual, key=_text_order)
    )
    assert found == [], found


def test_given_generated_records_when_resolved_on_spark_then_records_are_linked_by_every_kind_of_rule(
    identity_resolved: dict[str, Any],
) -> None:
    columns, rows = identity_resolved["tables"][XREF_TABLE]
    rules = {row[columns.index("match_rule")] for row in rows}
    assert {"email", "probabilistic", "singleton"} <= rules
    assert identity_resolved["result"].customers < identity_resolved["result"].records


def _spark_files(settings: Settings, table: str) -> str:
    schema, name = table.split(".")
    return f"read_parquet('{spark_table_files(settings, schema, name)}')"


def _differences_from_spark_files(
    con: duckdb.DuckDBPyConnection, spark: Settings, tables: dict[str, list[str]]
) -> tuple[list[str], dict[str, int]]:
    """Each ``duck.<table>`` (the DuckDB warehouse attached as ``duck``) against the Spark table's Parquet
    files: what differs, and each table's row count on DuckDB."""
    found: list[str] = []
    row_counts: dict[str, int] = {}
    for table, columns in sorted(tables.items()):
        table_found, row_counts[table] = differences(
            con, table, f"duck.{table}", _spark_files(spark, table), columns
        )
        found += table_found
    return found, row_counts


def test_given_the_same_landing_files_when_staging_builds_on_spark_then_its_tables_equal_duckdbs(
    parity_runs: dict[str, Settings],
) -> None:
    duck, spark = parity_runs["duckdb"], parity_runs["spark"]
    with duckdb.connect() as con:
        con.execute(f"attach '{duck.warehouse_path}' as duck (read_only)")
        tables = {
            table: columns
            for table, columns in duckdb_tables(con, "duck", STAGING_BUILD_SCHEMAS).items()
            if not table.startswith("intermediate.") or table.split(".")[1] in STAGING_MODELS
        }
        # GIVEN every model of the staging build (the seeds, six staging models, the identity input)
        assert {"staging.stg_crm_contacts__contacts", "intermediate.int_contact_records_unioned"} <= set(
            tables
        )
        # WHEN the Spark tables' Parquet files are read, THEN they hold the rows DuckDB's tables hold
        found, row_counts = _differences_from_spark_files(con, spark, tables)
    assert found == [], "\n".join(found)
    # AND the comparison is not an empty one: every staging model and the identity input have rows
    empty = [t for t, n in row_counts.items() if n == 0 and not t.endswith(MAY_BE_EMPTY)]
    assert empty == [], f"tables without rows compare trivially: {empty}"


def test_given_the_same_landing_files_when_identity_runs_on_spark_then_its_tables_equal_duckdbs(
    parity_runs: dict[str, Settings],
) -> None:
    duck, spark = parity_runs["duckdb"], parity_runs["spark"]
    with duckdb.connect() as con:
        con.execute(f"attach '{duck.warehouse_path}' as duck (read_only)")
        columns = duckdb_tables(con, "duck", ("identity",))
        found, row_counts = _differences_from_spark_files(
            con, spark, {table: columns[table] for table in IDENTITY_TABLES}
        )
    for table, rows in row_counts.items():
        if table != HOUSEHOLD_KEYS_TABLE:  # no customers share an identifier in this data
            assert rows > 0, f"{table} is empty on DuckDB: the comparison would prove nothing"
    assert found == [], "\n".join(found)


def test_given_the_same_landing_files_when_the_pipeline_publishes_on_spark_then_every_mart_equals_duckdbs(
    parity_runs: dict[str, Settings],
) -> None:
    duck, spark = parity_runs["duckdb"], parity_runs["spark"]
    found: list[str] = []
    row_counts: dict[str, int] = {}
    with duckdb.connect() as con:
        # GIVEN the snapshot published on DuckDB and the one published from Spark's Parquet marts
        con.execute(f"attach '{current_database(duck)}' as duck (read_only)")
        con.execute(f"attach '{current_database(spark)}' as spark (read_only)")
        expected = duckdb_tables(con, "duck", ("main",))
        actual = duckdb_tables(con, "spark", ("main",))
        # THEN both hold the same marts
        assert sorted(actual) == sorted(expected)
        assert len(expected) > 30, f"only {len(expected)} marts published: {sorted(expected)}"
        for table, columns in sorted(expected.items()):
            # AND each mart has the same columns and rows
            table_found, rows = differences(con, table, f"duck.{table}", f"spark.{table}", columns)
            found += table_found
            row_counts[table] = rows
    assert found == [], "\n".join(found)
    # AND the comparison is not an empty one: the marts that describe customers have rows
    for mart in ("main.dim_customers", "main.fct_orders", "main.customer_rfm", "main.customer_clv"):
        assert row_counts.get(mart, 0) > 0, f"{mart} has no rows: {row_counts.get(mart)}"


# Simulated churn customers (customer360.churn.simulate): enough for a model fit with both outcomes.
CHURN_CUSTOMERS = 2_000
CHURN_HORIZON = 90

# A fitted model's parameters, for scoring every customer through the fitted path (the 24 customers of the
# parity data are too few for the stage to fit; it falls back, which the stage's own rows cover).
FITTED = ClvModels(
    purchases=ModelFit(
        pareto_nbd.MODEL_NAME,
        {"r": 0.6, "alpha": 8.0, "s": 0.9, "beta": 40.0},
        -1.0,
        24,
        0.0,
        True,
        9,
        "fitted",
        "",
    ),
    gamma_gamma=ModelFit(
        gamma_gamma.MODEL_NAME, {"p": 3.0, "q": 4.0, "v": 15.0}, -1.0, 8, 0.0, True, 9, "fitted", ""
    ),
)


def _duckdb_summary(duck: Settings, end: date) -> CustomerSummary:
    with duckdb.connect(str(duck.warehouse_path), read_only=True) as con:
        return summarize(con, SOURCE_TABLE, end)


def _stage_models(duck: Settings) -> ClvModels:
    """The models the DuckDB run's CLV stage scored with: its refit date's artefact."""
    refit = model_artifacts.refit_date(AS_OF, duck.model_refit_days)
    found = load_artefact(duck, refit, summary_fingerprint(_duckdb_summary(duck, refit)))
    assert found is not None, f"no CLV artefact for {refit} in {duck.home}"
    return found[1]


def _spark_predictions(spark: SparkSession, duck: Settings, models: ClvModels) -> list[tuple]:
    summary = spark_clv.summarize(spark, SOURCE_TABLE, AS_OF)
    people = spark_clv.statistics(summary).population
    scored = spark_clv.score(summary, AS_OF, models, people, duck.clv_discount_rate)
    assert scored.columns == list(PREDICTION_COLUMNS)
    return sorted((tuple(row) for row in scored.collect()), key=sort_key)


def test_given_the_purchase_days_when_clv_summarises_on_spark_then_its_statistics_print_and_fit_are_duckdbs(
    parity_runs: dict[str, Settings], spark: SparkSession
) -> None:
    expected = _duckdb_summary(parity_runs["duckdb"], AS_OF)
    summary = spark_clv.summarize(spark, SOURCE_TABLE, AS_OF)
    # GIVEN the summary on Spark, WHEN its population statistics are aggregated, THEN they are DuckDB's
    found = spark_clv.statistics(summary)
    assert (found.n_customers, found.n_repeat_customers) == (
        expected.n_customers,
        expected.n_repeat_customers,
    )
    assert found.n_spenders == int(gamma_gamma.usable(expected.frequency, expected.repeat_avg_spend).sum())
    people = population(expected)
    assert math.isclose(found.population.pooled_rate, people.pooled_rate, rel_tol=FLOAT_TOLERANCE)
    assert math.isclose(
        found.population.default_margin_share, people.default_margin_share, rel_tol=FLOAT_TOLERANCE
    )
    # AND the training data's fingerprint (row hashes sorted by Spark, streamed) is the DuckDB stage's digest
    assert spark_clv.summary_fingerprint(summary) == summary_fingerprint(expected)
    # AND Pareto/NBD fitted on its distinct (x, t_x, T) rows has the parameters of the fit on every customer
    on_spark = spark_clv.fit_purchases(summary)
    on_duckdb = pareto_nbd.fit(expected.frequency, expected.recency_days, expected.tenure_days)
    assert expected.n_repeat_customers > 0
    # (compared as text: a fit that did not converge may hold NaN, equal to itself only so)
    outcome = ("params", "log_likelihood", "status", "iterations", "n_customers")
    assert [repr(getattr(on_spark, a)) for a in outcome] == [repr(getattr(on_duckdb, a)) for a in outcome]
    # AND the models the stage would score with are decided as on DuckDB (both fall back on these few
    # customers, with the same reasons)
    decided, expected_models = spark_clv.fit_models(summary, found), fit_models(expected)
    assert [(f.model, f.status, f.message) for f in decided.fits] == [
        (f.model, f.status, f.message) for f in expected_models.fits
    ]


def test_given_the_stages_models_when_clv_scores_on_spark_then_every_prediction_is_the_stages(
    parity_runs: dict[str, Settings], spark: SparkSession
) -> None:
    duck = parity_runs["duckdb"]
    columns = ", ".join(PREDICTION_COLUMNS)
    with duckdb.connect(str(duck.warehouse_path), read_only=True) as con:
        expected = con.execute(
            f"select {columns} from {PREDICTIONS_TABLE} where as_of_date = ?", [AS_OF]
        ).fetchall()
    assert expected, "the DuckDB run wrote no CLV prediction: the comparison would prove nothing"
    actual = _spark_predictions(spark, duck, _stage_models(duck))
    found = row_differences(
        PREDICTIONS_TABLE, list(PREDICTION_COLUMNS), sorted(expected, key=sort_key), actual
    )
    assert found == [], found


def test_given_fitted_models_when_clv_scores_on_spark_then_every_prediction_is_duckdbs(
    parity_runs: dict[str, Settings], spark: SparkSession
) -> None:
    duck = parity_runs["duckdb"]
    table = predict(_duckdb_summary(duck, AS_OF), FITTED, duck.clv_discount_rate)
    expected = sorted(
        zip(*(table.column(c).to_pylist() for c in PREDICTION_COLUMNS), strict=True), key=sort_key
    )
    actual = _spark_predictions(spark, duck, FITTED)
    assert {row[-1] for row in actual} == {"fitted"}
    found = row_differences(PREDICTIONS_TABLE, list(PREDICTION_COLUMNS), expected, actual)
    assert found == [], found


# Gamma-Gamma on Spark sums the likelihood's terms in another order than numpy (per distinct x, then over
# the partitions), which moves the parameters' last bits: measured about 3e-12 relative on 2,574 simulated
# spenders; the optimiser's own tolerance (mle.GTOL) is far coarser.
GAMMA_GAMMA_TOLERANCE = 1e-9
SPENDERS = 3_000


def test_given_repeat_spend_when_gamma_gamma_fits_on_spark_then_its_parameters_are_duckdbs(
    spark: SparkSession,
) -> None:
    # GIVEN simulated customers' repeat purchases and mean repeat spend (NaN without a repeat purchase, and a
    # few with a non-positive mean, which the model leaves out), in three partitions
    rng = np.random.default_rng(5)
    x = rng.poisson(2.0, SPENDERS).astype(float)
    m_x = simulate_mean_spend(GammaGammaParams(p=6.25, q=3.74, v=15.44), x, rng)
    m_x[:5] = 0.0
    summary = spark.createDataFrame(pd.DataFrame({"frequency": x, "repeat_avg_spend": m_x})).repartition(3)
    # WHEN Gamma-Gamma is fitted on Spark (one aggregate per optimiser step) and in numpy on every customer
    on_spark, on_duckdb = spark_clv.fit_spend(summary), gamma_gamma.fit(x, m_x)
    # THEN both fit the same customers to the same parameters and log-likelihood, in as many iterations
    assert on_duckdb.fitted and on_spark.status == on_duckdb.status
    assert on_spark.n_customers == on_duckdb.n_customers == int(gamma_gamma.usable(x, m_x).sum())
    assert on_spark.iterations == on_duckdb.iterations
    for name in gamma_gamma.PARAM_NAMES:
        assert math.isclose(on_spark.params[name], on_duckdb.params[name], rel_tol=GAMMA_GAMMA_TOLERANCE), (
            name
        )
    assert math.isclose(on_spark.log_likelihood, on_duckdb.log_likelihood, rel_tol=GAMMA_GAMMA_TOLERANCE)


def test_given_training_rows_in_partitions_when_fingerprinted_on_spark_then_the_digest_is_the_stages(
    spark: SparkSession,
) -> None:
    # GIVEN 3,000 summary rows (NaN spend without a repeat purchase, repeated rows), in four partitions
    rng = np.random.default_rng(9)
    x = rng.poisson(2.0, SPENDERS).astype(float)
    frame = pd.DataFrame(
        {
            "frequency": x,
            "recency_days": np.where(x > 0, rng.integers(0, 300, SPENDERS), 0).astype(float),
            "tenure_days": rng.integers(300, 310, SPENDERS).astype(float),
            "repeat_avg_spend": np.where(x > 0, rng.gamma(2.0, 20.0, SPENDERS), np.nan),
            "avg_purchase_day_spend": rng.gamma(2.0, 20.0, SPENDERS),
        }
    )
    rows = spark.createDataFrame(frame).repartition(4)
    # WHEN fingerprinted on Spark THEN the digest is the one the DuckDB stage records for the same rows
    assert spark_clv.summary_fingerprint(rows) == model_artifacts.data_fingerprint(frame)
    # AND one changed value changes it
    frame.loc[7, "tenure_days"] += 1.0
    assert spark_clv.summary_fingerprint(rows) != model_artifacts.data_fingerprint(frame)


def _plain(value: Any) -> Any:
    """pandas' missing values (NaN, None, NA) as None, as Spark returns a null."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _feature_rows(frame: pd.DataFrame) -> list[tuple]:
    """A churn feature table's rows as plain values (``validate_features``' types), sorted."""
    checked = validate_features(frame)
    return sorted((tuple(_plain(v) for v in row) for row in checked.itertuples(index=False)), key=sort_key)


def test_given_the_core_build_on_spark_when_churn_features_are_built_there_then_they_are_the_stages(
    parity_runs: dict[str, Settings], spark: SparkSession
) -> None:
    duck = parity_runs["duckdb"]
    refit = model_artifacts.refit_date(AS_OF, duck.model_refit_days)
    # GIVEN the CLV models the DuckDB run's stage recorded for the date (its fallback on these few customers)
    with duckdb.connect(str(duck.warehouse_path), read_only=True) as con:
        stage_models = warehouse_features.load_clv_models(con, AS_OF)
    assert not stage_models.purchases.fitted
    # WHEN the churn feature table is built on Spark (dbt's rows of Spark's core build, the Pareto/NBD
    # columns per feature date batch by batch) THEN it is the table the DuckDB stage trained and scored on
    expected = _feature_rows(warehouse_features.load_features(duck, AS_OF, refit))
    on_spark = spark_churn.features(spark, stage_models, AS_OF, duck.churn_horizon_days, refit)
    assert on_spark.columns == list(REQUIRED_COLUMNS)
    actual = _feature_rows(on_spark.toPandas())
    assert any(row[REQUIRED_COLUMNS.index("p_alive")] is not None for row in expected)
    found = row_differences(warehouse_features.FEATURES_TABLE, list(REQUIRED_COLUMNS), expected, actual)
    assert found == [], found
    # AND under a fitted Pareto/NBD its columns are the stage's functions' on the DuckDB summary
    dates = warehouse_features.feature_dates(AS_OF, duck.churn_horizon_days, refit)
    with duckdb.connect(str(duck.warehouse_path), read_only=True) as con:
        purchases = pa.concat_tables(
            [
                warehouse_features.purchase_model_features(con, FITTED, d, duck.churn_horizon_days)
                for d in dates
            ]
        )
        fitted_expected = _feature_rows(warehouse_features._read_feature_rows(con, dates, purchases))
    fitted = spark_churn.features(spark, FITTED, AS_OF, duck.churn_horizon_days, refit).toPandas()
    found = row_differences(
        "churn features (fitted)", list(REQUIRED_COLUMNS), fitted_expected, _feature_rows(fitted)
    )
    assert found == [], found


def test_given_a_fitted_churn_model_when_it_scores_on_spark_then_every_score_band_and_reason_is_pandass(
    spark: SparkSession,
) -> None:
    # GIVEN a churn model fitted on simulated customers whose complaints raise their risk
    features = validate_features(
        simulate_features(CHURN_CUSTOMERS, AS_OF, CHURN_HORIZON, np.random.default_rng(31))
    )
    then = features[features["feature_date"] == AS_OF - timedelta(days=CHURN_HORIZON)]
    training = labels_from_features(then, features[features["feature_date"] == AS_OF], CHURN_HORIZON)
    model = churn_model.train(training, training["churned"])
    now = features[features["feature_date"] == AS_OF].reset_index(drop=True)
    expected = churn_model.score(model, now)
    # WHEN the same customers are scored on Spark, batch by batch (several batches per partition)
    columns = ["customer_id", *model.feature_columns]
    frame = spark.createDataFrame(now[columns].astype({"customer_id": object})).repartition(3)
    scored = spark_churn.score(frame, model)
    assert scored.columns == list(expected.columns)
    actual = sorted((tuple(row) for row in scored.collect()), key=sort_key)
    # THEN every customer has the score, band and reasons the stage's own scoring gives
    rows = sorted((tuple(_plain(v) for v in row) for row in expected.itertuples(index=False)), key=sort_key)
    assert {row[2] for row in rows} >= {"high", "medium"} and any(row[3] for row in rows)
    found = row_differences("churn scores", list(expected.columns), rows, actual)
    assert found == [], found
