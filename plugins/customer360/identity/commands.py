"""CLI: ``customer360 identity resolve|train|audit|bench`` and ``customer360 evaluate identity``.

Heavy imports happen inside the command functions, so building the parser stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from customer360.cli_types import iso_date


def register(subparsers: argparse._SubParsersAction) -> None:
    identity = subparsers.add_parser("identity", help="identity resolution: resolve, audit, benchmark")
    commands = identity.add_subparsers(dest="identity_command", required=True)

    resolve = commands.add_parser("resolve", help="resolve identities into identity.* for one date")
    resolve.add_argument("--as-of-date", type=iso_date, required=True, help="logical date YYYY-MM-DD")
    resolve.add_argument("--run-id", default=None, help="run id (default: manual__<as-of-date>)")
    resolve.add_argument("--json", action="store_true", help="print the result as JSON")
    resolve.set_defaults(func=run_resolve)

    train = commands.add_parser(
        "train",
        help="train the next version of the match model on the warehouse's contact records",
        description=(
            "Train the identity match model (Splink, Fellegi-Sunter) on the named contact records observed "
            "in "
            "the training window (settings.identity_training_window_days up to --as-of-date; fixed seed "
            "settings.identity_training_seed) and save it as the next version under "
            "settings.identity_model_dir. Daily runs use the newest version (or "
            "CUSTOMER360_IDENTITY_MODEL_VERSION); the next run after a new version is a full resolution."
        ),
    )
    train.add_argument("--as-of-date", type=iso_date, required=True, help="end of the training window")
    train.add_argument("--json", action="store_true", help="print the model's metadata and weights as JSON")
    train.set_defaults(func=run_train)

    audit = commands.add_parser("audit", help="largest customers, their bridges and guard rejections")
    audit.add_argument(
        "--top", type=int, default=20, help="how many customers and rejection groups (default 20)"
    )
    audit.add_argument("--records", type=int, default=25, help="records shown per customer (default 25)")
    audit.add_argument("--json", action="store_true", help="print the audit as JSON")
    audit.set_defaults(func=run_audit)

    bench = commands.add_parser(
        "bench", help="resolve synthetic records in a scratch warehouse and time it (development install)"
    )
    bench.add_argument("--persons", type=int, default=100_000, help="synthetic persons (default 100000)")
    bench.add_argument("--seed", type=int, default=7)
    bench.add_argument("--dir", type=Path, default=None, help="scratch folder (default: a temporary one)")
    bench.add_argument(
        "--daily", action="store_true", help="then add one day's records and resolve them (incremental)"
    )
    bench.add_argument(
        "--daily-only",
        action="store_true",
        help="only the daily step, on the warehouse in --dir of an earlier bench (same --persons, --seed)",
    )
    bench.add_argument(
        "--full-only",
        action="store_true",
        help="only a full resolution of the warehouse in --dir of an earlier bench, with its model (no "
        "training)",
    )
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(func=run_bench)

    evaluate = subparsers.add_parser("evaluate", help="evaluate a stage against ground truth")
    targets = evaluate.add_subparsers(dest="evaluate_target", required=True)
    evaluate_identity = targets.add_parser(
        "identity", help="pairwise precision/recall of identity resolution"
    )
    evaluate_identity.add_argument(
        "--truth", type=Path, required=True, help="ground_truth/source_records.parquet"
    )
    evaluate_identity.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate_identity.set_defaults(func=run_evaluate)


def run_resolve(args: argparse.Namespace) -> int:
    from customer360.identity.resolution import resolve
    from customer360.settings import get_settings

    run_id = args.run_id or f"manual__{args.as_of_date.isoformat()}"
    try:
        result = resolve(get_settings(), args.as_of_date, run_id)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        print(
            f"{result.records:,} records -> {result.customers:,} customers ({result.new_customers:,} new, "
            f"{result.merges} merges, {result.splits} splits, {result.guard_rejections} guard rejections) "
            f"in {result.seconds:.1f}s; rule set {result.ruleset_hash}"
            + (" (changed)" if result.ruleset_changed else "")
            + f"; {result.model_note}"
        )
    return 0


def run_train(args: argparse.Namespace) -> int:
    from customer360.identity.model_store import train_in_warehouse
    from customer360.settings import get_settings

    try:
        model, path, changes = train_in_warehouse(get_settings(), args.as_of_date)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**model.as_dict(), "path": str(path), "weights": changes}, indent=2, default=str))
        return 0
    window = model.training_window
    print(
        f"identity match model v{model.version}: trained on {model.training_records:,} records observed "
        f"{window.get('from') or 'any time'} .. {window.get('to')} (seed {model.seed}) -> {path}"
    )
    for row in changes:
        previous = "" if row["previous_weight"] is None else f" (was {row['previous_weight']:+.2f})"
        weight = "n/a" if row["weight"] is None else f"{row['weight']:+.2f}"
        print(f"  {row['comparison']:<12} {row['level']:<40} {weight}{previous}")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from customer360.identity.audit import audit_identity, format_audit
    from customer360.settings import get_settings

    try:
        report = audit_identity(get_settings(), top=args.top, records_shown=args.records)
    except (LookupError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), indent=2, default=str) if args.json else format_audit(report))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from customer360.identity.evaluate import evaluate_identity
    from customer360.settings import get_settings

    try:
        result = evaluate_identity(get_settings(), args.truth)
    except (LookupError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.as_dict(), indent=2) if args.json else result.summary())
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from customer360.dev_tools import DevToolsMissing, import_dev_module

    try:
        synthetic = import_dev_module("customer360_dev.identity_synthetic", "`customer360 identity bench`")
    except DevToolsMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        report = synthetic.run_benchmark(
            args.persons,
            args.seed,
            args.dir,
            daily=args.daily,
            daily_only=args.daily_only,
            full_only=args.full_only,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2, default=str) if args.json else _bench_text(report))
    return 0


def _bench_text(report: dict[str, object]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in report.items())
