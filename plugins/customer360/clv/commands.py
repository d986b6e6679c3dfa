"""``customer360 clv fit``: fit Pareto/NBD and Gamma-Gamma on a transactions CSV; check on a holdout."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from customer360.cli_types import iso_date

EXIT_OK = 0
EXIT_FALLBACK = 1
EXIT_INPUT_ERROR = 2

_EPILOG = """\
Time is measured in days. Same-day purchases of a customer are collapsed into one purchase day; a day whose
amounts sum to zero or less is not a purchase day. Frequency = repeat purchase days up to the observation end.
Exit status: 0 both models fitted, 1 a model fell back to its simple estimate (the message says why),
2 the input could not be used.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``clv`` with its ``fit`` subcommand to the ``customer360`` parser."""
    clv = subparsers.add_parser("clv", help="customer lifetime value models (Pareto/NBD + Gamma-Gamma)")
    clv_commands = clv.add_subparsers(dest="clv_command", metavar="COMMAND", required=True)
    fit = clv_commands.add_parser(
        "fit",
        help="fit Pareto/NBD and Gamma-Gamma on a transactions CSV; optionally compare with a holdout period",
        description=(
            "Fit Pareto/NBD (repeat purchases) and Gamma-Gamma (spend per purchase) by maximum likelihood "
            "on the "
            "transactions up to --observation-end, print the parameters and log-likelihoods and, with "
            "--holdout-end, predicted vs actual repeat purchases in the holdout period."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("transactions", type=Path, metavar="TRANSACTIONS.csv", help="CSV with a header row")
    fit.add_argument(
        "--observation-end",
        required=True,
        type=iso_date,
        metavar="DATE",
        help="last day of the calibration period (inclusive)",
    )
    fit.add_argument(
        "--holdout-end",
        type=iso_date,
        metavar="DATE",
        help="last day of the holdout period (inclusive), after --observation-end",
    )
    fit.add_argument("--customer-col", default="customer_id", metavar="NAME", help="default: customer_id")
    fit.add_argument("--date-col", default="date", metavar="NAME", help="default: date")
    fit.add_argument("--amount-col", default="amount", metavar="NAME", help="default: amount")
    fit.add_argument("--json", action="store_true", help="print the result as JSON")
    fit.set_defaults(func=fit_command)


def _finite(value: float) -> float | None:
    import math

    return value if math.isfinite(value) else None


def fit_transactions(
    path: Path,
    observation_end: date,
    holdout_end: date | None = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> dict[str, Any]:
    """Fit both models on ``path`` up to ``observation_end``; the result as a JSON-ready dict."""
    import duckdb

    from customer360.clv.fit import fit_models
    from customer360.clv.holdout import compare_holdout
    from customer360.clv.summary import summarize
    from customer360.clv.transactions import PURCHASE_DAYS_VIEW, TransactionsFileError, load_transactions

    if holdout_end is not None and holdout_end <= observation_end:
        raise TransactionsFileError(
            f"--holdout-end {holdout_end} must come after --observation-end {observation_end}"
        )
    con = duckdb.connect()
    try:
        n_rows = load_transactions(con, path, customer_col, date_col, amount_col)
        summary = summarize(con, PURCHASE_DAYS_VIEW, observation_end)
        if summary.n_customers == 0:
            raise TransactionsFileError(
                f"{path}: no purchases on or before {observation_end}: choose a later --observation-end"
            )
        models = fit_models(summary)
        result: dict[str, Any] = {
            "file": str(path),
            "rows": n_rows,
            "observation_end": observation_end.isoformat(),
            "time_unit": "days",
            "n_customers": summary.n_customers,
            "n_repeat_customers": summary.n_repeat_customers,
            "model_status": models.status,
            "models": {
                fit.model: {
                    "status": fit.status,
                    "converged": fit.converged,
                    "params": fit.params,
                    "log_likelihood": _finite(fit.log_likelihood),
                    "n_customers": fit.n_customers,
                    "iterations": fit.iterations,
                    "fit_seconds": round(fit.fit_seconds, 4),
                    "message": fit.message,
                }
                for fit in models.fits
            },
        }
        if holdout_end is not None:
            actual = con.execute(
                f"""
                select count(*) filter (where purchase_date > $end and purchase_date <= $holdout_end)
                from {PURCHASE_DAYS_VIEW}
                group by customer_id
                having min(purchase_date) <= $end
                order by customer_id
                """,
                {"end": observation_end, "holdout_end": holdout_end},
            ).fetchnumpy()
            counts = next(iter(actual.values()))
            comparison = compare_holdout(summary, models, counts, (holdout_end - observation_end).days)
            result["holdout"] = {
                "start": (observation_end + timedelta(days=1)).isoformat(),
                "end": holdout_end.isoformat(),
                **comparison.as_dict(),
            }
        return result
    finally:
        con.close()


def _format_params(params: dict[str, float]) -> str:
    return "  ".join(f"{name}={value:.4g}" for name, value in params.items()) or "-"


def format_report(result: dict[str, Any]) -> str:
    """The result as a readable plain-text report."""
    lines = [
        f"CLV fit on {result['file']} ({result['rows']:,} rows), "
        f"observation end {result['observation_end']}, time unit: days",
        f"customers: {result['n_customers']:,}, with repeat purchases: {result['n_repeat_customers']:,}",
        "",
        f"{'model':<12} {'status':<9} {'converged':<9} {'log-lik':>14} {'customers':>10} {'seconds':>8}"
        "  parameters",
    ]
    for name, fit in result["models"].items():
        ll = "-" if fit["log_likelihood"] is None else f"{fit['log_likelihood']:,.2f}"
        lines.append(
            f"{name:<12} {fit['status']:<9} {'yes' if fit['converged'] else 'no':<9} {ll:>14} "
            f"{fit['n_customers']:>10,} {fit['fit_seconds']:>8.2f}  {_format_params(fit['params'])}"
        )
    for name, fit in result["models"].items():
        if fit["status"] != "fitted":
            lines.append(f"note: {name}: {fit['message']}")
    holdout = result.get("holdout")
    if holdout:
        error = holdout["relative_error"]
        lines += [
            "",
            f"holdout {holdout['start']} .. {holdout['end']} ({holdout['holdout_days']} days): "
            f"actual repeat purchases {holdout['actual']:,.0f}, predicted {holdout['predicted']:,.1f}"
            + ("" if error != error else f" ({error:+.1%})"),
            f"{'calibration repeats':<20} {'customers':>10} {'actual':>10} {'predicted':>10} "
            f"{'actual/cust':>12} {'predicted/cust':>15}",
        ]
        for bucket in holdout["buckets"]:
            lines.append(
                f"{bucket['bucket']:<20} {bucket['n_customers']:>10,} {bucket['actual']:>10,.0f} "
                f"{bucket['predicted']:>10,.1f} {bucket['actual_mean']:>12.3f} "
                f"{bucket['predicted_mean']:>15.3f}"
            )
    return "\n".join(lines)


def fit_command(args: argparse.Namespace) -> int:
    from customer360.clv.transactions import TransactionsFileError

    try:
        result = fit_transactions(
            args.transactions,
            args.observation_end,
            args.holdout_end,
            args.customer_col,
            args.date_col,
            args.amount_col,
        )
    except TransactionsFileError as exc:
        print(f"customer360 clv fit: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    if args.json:
        print(json.dumps(json_ready(result), indent=2, allow_nan=False))
    else:
        print(format_report(result))
    return EXIT_OK if result["model_status"] == "fitted" else EXIT_FALLBACK


def json_ready(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, float):
        return _finite(value)
    return value
