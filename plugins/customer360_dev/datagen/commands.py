"""``customer360 generate``: write synthetic landing files for every channel, plus the ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from customer360.cli_types import iso_date
from customer360_dev.datagen.defaults import DEFAULT_DIRT, DEFAULT_SEED


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; use a share such as 0.005") from None
    if not 0.0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"--dirt is a share of records between 0 and 0.5, got {value}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write synthetic landing files (all channels) and the ground truth",
        description=(
            "Generate DAYS days of landing files ending at END_DATE for CUSTOMERS persons: "
            "<out>/<channel>/<YYYY-MM-DD>/<channel>_<YYYY-MM-DD>.<ext>. The ground truth "
            "(source_records.parquet, persons.parquet, generation_stats.json) goes to --truth "
            "(default <out>/../ground_truth). "
            "The same seed and arguments give byte-identical files."
        ),
    )
    parser.add_argument("--customers", type=_positive, required=True, help="number of persons")
    parser.add_argument("--days", type=_positive, required=True, help="number of daily files per channel")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="landing root (default: the settings' landing root)"
    )
    parser.add_argument(
        "--end-date", type=iso_date, default=None, help="last day, YYYY-MM-DD (default: yesterday UTC)"
    )
    parser.add_argument(
        "--dirt", type=_share, default=DEFAULT_DIRT, help=f"share of invalid records (default {DEFAULT_DIRT})"
    )
    parser.add_argument(
        "--truth", type=Path, default=None, help="ground-truth folder (default <out>/../ground_truth)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from customer360_dev.datagen.generate import generate

    out = args.out
    if out is None:
        from customer360.settings import get_settings

        out = get_settings().landing_root
    stats = generate(
        out=out,
        customers=args.customers,
        days=args.days,
        seed=args.seed,
        end_date=args.end_date,
        dirt=args.dirt,
        truth_dir=args.truth,
    )
    print(f"generated {stats.start_date} .. {stats.end_date} for {stats.customers} persons")
    print(
        f"in {stats.seconds:.1f}s ({', '.join(f'{k} {v:.1f}s' for k, v in stats.seconds_by_phase.items())})"
    )
    print(
        f"{'channel':<18} {'files':>6} {'records':>10} {'raw rows':>10} {'invalid':>8} {'exact dup':>9} "
        f"{'near dup':>8} {'MB':>8}"
    )
    for name, c in stats.channels.items():
        print(
            f"{name:<18} {c.files:>6} {c.records:>10} {c.rows:>10} {c.invalid_rows:>8} "
            f"{c.exact_duplicates:>9} {c.near_duplicates:>8} {c.bytes / 1e6:>8.1f}"
        )
    print(f"landing files: {out}")
    print(f"ground truth:  {stats.truth_dir} ({stats.truth_records} source records)")
    return 0
