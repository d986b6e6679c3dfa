"""``customer360 churn backtest``: the churn model's backtest against its baselines on any transactions CSV.

The pipeline's churn stage on data it did not write: purchase days from a transactions file (as ``customer360
clv fit`` reads them), Pareto/NBD fitted on the days up to the training window's end, the purchase features of
``customer360.churn.features`` (service and survey features are unknown: zero complaints, no answers), and
the stage's own fit (``customer360.churn.stage.fit``): the backtest of the model and of the three baselines
on held-out customers, and which one the stage would publish.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from customer360.cli_types import iso_date

EXIT_OK = 0
EXIT_INPUT_ERROR = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    churn = subparsers.add_parser("churn", help="churn model (logistic regression vs baselines)")
    commands = churn.add_subparsers(dest="churn_command", metavar="COMMAND", required=True)
    backtest = commands.add_parser(
        "backtest",
        help="backtest the churn model against its three baselines on a transactions CSV",
        description=(
            "Label the customers of T = --training-end - --horizon-days (churned: no purchase day in "
            "(T, --training-end]), fit the churn model on a share of them and compare it on the rest with "
            "recency, the Pareto/NBD probability of no purchase in the horizon, and the RFM score: AUC, "
            "precision in the top decile, Brier score and calibration error."
        ),
    )
    backtest.add_argument("transactions", type=Path, metavar="TRANSACTIONS.csv", help="CSV with a header row")
    backtest.add_argument(
        "--training-end", required=True, type=iso_date, metavar="DATE", help="end of the label window"
    )
    backtest.add_argument("--horizon-days", type=int, default=90, metavar="N", help="default: 90")
    backtest.add_argument(
        "--customer-col", default="customer_id", metavar="NAME", help="default: customer_id"
    )
    backtest.add_argument("--date-col", default="date", metavar="NAME", help="default: date")
    backtest.add_argument("--amount-col", default="amount", metavar="NAME", help="default: amount")
    backtest.set_defaults(func=backtest_command)


def backtest_transactions(
    path: Path,
    training_end: date,
    horizon_days: int = 90,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> dict[str, Any]:
    """The churn stage's fit on ``path``'s window ending at ``training_end``: its metrics and choice."""
    import duckdb
    import pandas as pd

    from customer360.churn import stage
    from customer360.churn.features import purchase_features, validate_features
    from customer360.churn.warehouse_features import purchase_model_features
    from customer360.clv.fit import fit_models
    from customer360.clv.summary import summarize
    from customer360.clv.transactions import PURCHASE_DAYS_VIEW, TransactionsFileError, load_transactions

    if horizon_days < 1:
        raise TransactionsFileError(f"--horizon-days must be at least 1, not {horizon_days}")
    con = duckdb.connect()
    try:
        load_transactions(con, path, customer_col, date_col, amount_col)
        training_date = training_end - timedelta(days=horizon_days)
        summary = summarize(con, PURCHASE_DAYS_VIEW, training_end)
        if summary.n_customers == 0:
            raise TransactionsFileError(f"{path}: no purchases on or before {training_end}")
        models = fit_models(summary)
        days = con.sql(f"select customer_id, purchase_date, net_amount from {PURCHASE_DAYS_VIEW}").df()
        frames = []
        for day in (training_date, training_end):
            purchase = purchase_features(days, day)
            clv = purchase_model_features(con, models, day, horizon_days, PURCHASE_DAYS_VIEW).to_pandas()
            frames.append(
                purchase.merge(clv.drop(columns=["feature_date"]), on="customer_id", how="left").assign(
                    complaints_90d=0.0,
                    sla_breaches_90d=0.0,
                    complaints_since_last_purchase=0.0,
                    sla_breaches_since_last_purchase=0.0,
                    last_csat=float("nan"),
                    last_nps=float("nan"),
                )
            )
        features = validate_features(pd.concat(frames, ignore_index=True))
    finally:
        con.close()
    artefact, scorer = stage.fit(features, training_end, horizon_days)
    return {
        "file": str(path),
        "training_window": [training_date.isoformat(), training_end.isoformat()],
        "horizon_days": horizon_days,
        "pareto_nbd": models.purchases.status,
        "published": scorer.kind,
        "reason": artefact.reason,
        "metrics": artefact.metrics,
    }


def format_report(result: dict[str, Any]) -> str:
    metrics = result["metrics"]
    start, end = result["training_window"]
    lines = [
        f"churn backtest on {result['file']}: features as of {start}, labels from ({start}, {end}] "
        f"({result['horizon_days']} days)",
        f"customers: {metrics.get('n_train', 0):,} labelled, "
        f"churn share {metrics.get('positives_share') or 0:.1%}, {metrics.get('n_test', 0):,} held out",
        f"{'scorer':<22} {'AUC':>7} {'top-decile precision':>21} {'Brier':>7} {'calib. error':>13}",
    ]
    rows = [("model", metrics)] if "auc" in metrics else []
    rows += list((metrics.get("baselines") or {}).items())
    for name, m in rows:
        lines.append(
            f"{name:<22} {m['auc']:>7.3f} {m['precision_top_decile']:>21.1%} {m['brier']:>7.3f} "
            f"{m['calibration_error']:>13.3f}"
        )
    lines.append(f"published: {result['published']}" + (f" ({result['reason']})" if result["reason"] else ""))
    return "\n".join(lines)


def backtest_command(args: argparse.Namespace) -> int:
    from customer360.clv.commands import json_ready
    from customer360.clv.transactions import TransactionsFileError

    try:
        result = backtest_transactions(
            args.transactions,
            args.training_end,
            args.horizon_days,
            args.customer_col,
            args.date_col,
            args.amount_col,
        )
    except TransactionsFileError as exc:
        print(f"customer360 churn backtest: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    print(format_report(result))
    print(json.dumps(json_ready(result["metrics"]), default=str))
    return EXIT_OK
