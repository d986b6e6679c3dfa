"""``customer360 validate``: run a stage's Great Expectations checkpoint from the command line.

    customer360 validate raw --date 2026-11-24
    customer360 validate all --date 2026-11-24 --json

Results go to ``<runs>/<date>/quality/<stage>.json`` and Data Docs to ``<runs>/<date>/gx/data_docs/``.
Exit code 0 when every stage is green (warnings allowed), 1 when a critical check failed or a check is broken.
"""

from __future__ import annotations

import argparse

from customer360.cli_types import iso_date

STAGE_CHOICES = ("raw", "staging", "marts", "all")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "validate",
        help="run the Great Expectations checks of a stage on the warehouse",
        description=(
            "Validate one stage (raw, staging, marts) or all of them in-database with Great Expectations; "
            "write quality/<stage>.json and Data Docs into the run folder of --date."
        ),
    )
    parser.add_argument("stage", choices=STAGE_CHOICES, help="stage to validate")
    parser.add_argument(
        "--date", dest="as_of_date", type=iso_date, required=True, help="as-of date YYYY-MM-DD"
    )
    parser.add_argument("--run-id", default=None, help="run id (default: manual__<date>)")
    parser.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from customer360.quality import STAGES, run_checkpoint
    from customer360.settings import get_settings

    settings = get_settings()
    run_id = args.run_id or f"manual__{args.as_of_date.isoformat()}"
    stages = list(STAGES) if args.stage == "all" else [args.stage]
    results = [run_checkpoint(settings, stage, args.as_of_date, run_id) for stage in stages]
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        for result in results:
            verdict = "ok" if result.ok else "RED"
            print(
                f"{result.stage}: {verdict} - {result.passed} passed, {result.failed} failed, "
                f"{result.warnings} warning(s), {result.errors} broken check(s) in {result.seconds:.1f}s"
            )
            for message in result.critical_failures:
                print(f"  FAILED {message}")
            for message in result.error_messages:
                print(f"  BROKEN {message}")
            for message in result.warning_messages:
                print(f"  warning {message}")
        print(f"Data Docs: {results[-1].docs_path}")
    return 0 if all(r.ok for r in results) else 1
