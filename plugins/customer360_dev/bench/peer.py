"""The DataFrame peers: RFM scores and historical customer value computed by the dbt models' SQL in DuckDB,
by plain pandas (customer360_dev.bench.pandas_models) and by polars (customer360_dev.bench.polars_models)
from the same relations, timed on the same warehouse, with a check that all three give the same rows.

Both sides compute the same three results: int_customer_purchase_days and customer_rfm from the order lines
(int_order_lines_unioned, with the RFM segment seed), and customer_clv from the orders (fct_orders, the order
roll-up the model reads), the customers (dim_customers) and the CLV predictions of the as-of date.

- SQL: the models' compiled SQL (what ``dbt build`` ran, from dbt's target folder), run in DuckDB with the
  warehouse attached read-only and the results written to an in-memory database; customer_rfm reads the
  int_customer_purchase_days just computed. dbt's start-up and compilation are not timed.
- pandas: the inputs are read into DataFrames first (reported as ``pandas_load_seconds``, not timed: DuckDB
  reads them from its own storage), then the three results are computed.
- polars: the same inputs read as polars DataFrames (Arrow, ``polars_load_seconds``, not timed), then the
  three results planned lazily and collected together.

Each side runs ``rounds`` times, alternately, and the fastest round counts (the machine may be busy).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from customer360.settings import Settings
from customer360.warehouse import attach_marts, duckdb_config
from customer360_dev.bench.pandas_models import PREDICTION_COLUMNS, PeerInputs, pandas_models
from customer360_dev.bench.polars_models import PolarsInputs, polars_models

PEER_MODELS = ("int_customer_purchase_days", "customer_rfm", "customer_clv")
SCRATCH_CATALOG = "memory"  # DuckDB's in-memory database of a connection to ":memory:"

KEYS = {
    "int_customer_purchase_days": ["customer_id", "purchase_date"],
    "customer_rfm": ["customer_id"],
    "customer_clv": ["customer_id"],
}
SQL_RESULTS = {
    "int_customer_purchase_days": (
        "select customer_id, purchase_date, order_count, cast(net_amount * 100 as bigint) as net_cents, "
        "cast(margin_amount * 100 as bigint) as margin_cents from {}"
    ),
    "customer_rfm": (
        "select customer_id, recency_days, frequency, cast(monetary * 100 as bigint) as monetary_cents, "
        "r_score, f_score, m_score, fm_score, rfm_cell, rfm_segment from {}"
    ),
    "customer_clv": (
        "select customer_id, cast(historical_revenue * 100 as bigint) as historical_revenue_cents, "
        "cast(historical_margin * 100 as bigint) as historical_margin_cents, order_count, "
        f"{', '.join(PREDICTION_COLUMNS)}, model_status from {{}}"
    ),
}
INPUTS = {
    "order_lines": (
        "select source_channel, order_id, customer_id, ordered_date, is_revenue, "
        "cast(net_amount * 100 as bigint) as net_cents, cast(margin_amount * 100 as bigint) as margin_cents "
        "from intermediate.int_order_lines_unioned"
    ),
    "orders": (
        "select customer_id, ordered_date, is_revenue, cast(net_amount * 100 as bigint) as net_cents, "
        "cast(margin_amount * 100 as bigint) as margin_cents from marts.fct_orders"
    ),
    "customers": "select customer_id from marts.dim_customers",
    "clv_predictions": "select * from analytics.customer_clv_predictions",
    "segment_map": "select r_score, fm_score, rfm_segment from seeds.rfm_segment_map",
}


@dataclass(frozen=True)
class CompiledModel:
    name: str
    relation: str  # as the compiled SQL of a downstream model names it, e.g. "db"."marts"."customer_rfm"
    sql: str
    depends_on: tuple[str, ...]  # unique ids of the nodes it reads


def compiled_models(settings: Settings, as_of_date: date) -> list[CompiledModel]:
    """The peer models' compiled SQL from dbt's target folder; it must be compiled for ``as_of_date``."""
    target = settings.home / "dbt" / "target"
    manifest_path = target / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path} is missing: run the pipeline for {as_of_date} first")
    nodes = json.loads(manifest_path.read_text(encoding="utf-8"))["nodes"]
    models = []
    for name in PEER_MODELS:
        node = nodes[f"model.customer360.{name}"]
        path = target / "compiled" / "customer360" / node["original_file_path"]
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: build {name} (run the pipeline for {as_of_date}) first"
            )
        sql = path.read_text(encoding="utf-8")
        if f"'{as_of_date.isoformat()}'" not in sql:
            raise ValueError(
                f"{path} was not compiled for as-of date {as_of_date}: compare on the date of the last run"
            )
        models.append(CompiledModel(name, node["relation_name"], sql, tuple(node["depends_on"]["nodes"])))
    return models


def sql_models(con: Any, models: list[CompiledModel]) -> dict[str, float]:
    """Run each model's SQL into the scratch catalog, later models reading earlier results there; return the
    seconds per model."""
    seconds = {}
    for i, model in enumerate(models):
        sql = model.sql
        for upstream in models[:i]:
            if f"model.customer360.{upstream.name}" not in model.depends_on:
                continue
            if upstream.relation not in sql:
                raise ValueError(f"the compiled SQL of {model.name} does not name {upstream.relation}")
            sql = sql.replace(upstream.relation, f"{SCRATCH_CATALOG}.main.{upstream.name}")
        started = time.perf_counter()
        con.execute(f"create or replace table {SCRATCH_CATALOG}.main.{model.name} as {sql}")
        seconds[model.name] = time.perf_counter() - started
    return seconds


def load_inputs(con: Any) -> PeerInputs:
    return PeerInputs(**{name: con.execute(sql).df() for name, sql in INPUTS.items()})


def load_polars_inputs(con: Any) -> PolarsInputs:
    return PolarsInputs(**{name: con.sql(sql).pl() for name, sql in INPUTS.items()})


def _as_pandas(results: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """polars results as pandas frames with the SQL side's date type, for ``row_mismatches``."""
    frames = {}
    for name, frame in results.items():
        df = frame.to_pandas()
        for column in ("purchase_date",):
            if column in df.columns:
                df[column] = pd.to_datetime(df[column]).astype("datetime64[us]")
        frames[name] = df
    return frames


def row_mismatches(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> int:
    """Rows of either frame without a partner by ``keys``, plus matched rows with any other column unequal
    (two nulls are equal)."""
    merged = left.merge(right, on=keys, how="outer", suffixes=("_left", "_right"), indicator=True)
    unequal = merged["_merge"] != "both"
    for column in (c for c in left.columns if c not in keys):
        a, b = merged[f"{column}_left"], merged[f"{column}_right"]
        same = (a == b).fillna(False).astype(bool) | (a.isna() & b.isna())
        unequal |= ~same
    return int(unequal.sum())


def compare(settings: Settings, as_of_date: date, rounds: int = 3) -> dict[str, Any]:
    """Time both implementations on the warehouse of ``settings`` and check they give the same rows."""
    import duckdb

    models = compiled_models(settings, as_of_date)
    database = settings.warehouse_path.stem  # the catalog dbt names the warehouse's models by
    con = duckdb.connect(
        ":memory:",
        config=duckdb_config(settings),
    )
    try:
        con.execute(f"attach '{settings.warehouse_path}' as \"{database}\" (read_only)")
        con.execute(f'use "{database}"')
        attach_marts(con, settings, read_only=True)  # the DuckDB target's marts file, as ``marts``
        load_started = time.perf_counter()
        inputs = load_inputs(con)
        load_seconds = time.perf_counter() - load_started
        load_started = time.perf_counter()
        polars_inputs = load_polars_inputs(con)
        polars_load_seconds = time.perf_counter() - load_started

        pandas_rounds, polars_rounds, sql_rounds = [], [], []
        cpu: dict[str, list[float]] = {"pandas": [], "polars": [], "sql": []}
        for _ in range(max(1, rounds)):
            started, cpu_started = time.perf_counter(), time.process_time()
            results = pandas_models(inputs, as_of_date, settings.rfm_window_days)
            pandas_rounds.append(time.perf_counter() - started)
            cpu["pandas"].append(time.process_time() - cpu_started)
            started, cpu_started = time.perf_counter(), time.process_time()
            polars_results = polars_models(polars_inputs, as_of_date, settings.rfm_window_days)
            polars_rounds.append(time.perf_counter() - started)
            cpu["polars"].append(time.process_time() - cpu_started)
            cpu_started = time.process_time()
            sql_rounds.append(sql_models(con, models))
            cpu["sql"].append(time.process_time() - cpu_started)
        sql_results = {
            name: con.execute(sql.format(f"{SCRATCH_CATALOG}.main.{name}")).df()
            for name, sql in SQL_RESULTS.items()
        }
    finally:
        con.close()
    mismatches = {name: row_mismatches(results[name], sql_results[name], KEYS[name]) for name in PEER_MODELS}
    polars_frames = _as_pandas(polars_results)
    polars_mismatches = {
        name: row_mismatches(
            polars_frames[name][list(sql_results[name].columns)], sql_results[name], KEYS[name]
        )
        for name in PEER_MODELS
    }
    pandas_seconds = min(pandas_rounds)
    polars_seconds = min(polars_rounds)
    fastest_sql = min(sql_rounds, key=lambda r: sum(r.values()))
    sql_seconds = sum(fastest_sql.values())
    return {
        "customers_scored": int(len(results["customer_rfm"])),
        "order_lines": int(len(inputs.order_lines)),
        "rounds": max(1, rounds),
        "pandas_load_seconds": round(load_seconds, 3),
        "pandas_seconds": round(pandas_seconds, 3),
        "sql_seconds": round(sql_seconds, 3),
        "sql_model_seconds": {name: round(s, 3) for name, s in fastest_sql.items()},
        "sql_models": list(fastest_sql),
        "sql_threads": settings.duckdb_threads,
        "speedup": round(pandas_seconds / sql_seconds, 1) if sql_seconds > 0 else None,
        "polars_load_seconds": round(polars_load_seconds, 3),
        "polars_seconds": round(polars_seconds, 3),
        "polars_speedup": round(polars_seconds / sql_seconds, 2) if sql_seconds > 0 else None,
        "polars_mismatches": polars_mismatches,
        # CPU seconds (every thread of the process) of each side's fastest-CPU round: on a loaded machine
        # the wall clock of a second-long computation depends on what else ran in that second
        "cpu_seconds": {side: round(min(values), 3) for side, values in cpu.items()},
        "purchase_day_mismatches": mismatches["int_customer_purchase_days"],
        "rfm_score_mismatches": mismatches["customer_rfm"],
        "historical_value_mismatches": mismatches["customer_clv"],
    }
