"""``customer360 ingest``: load landing files into the raw layer from the command line.

    customer360 ingest --date 2026-11-24                       # every channel
    customer360 ingest --date 2026-11-24 --channel pos_transactions --channel web_orders --json

Exit code 0 when every file loaded (or was unchanged / a skipped duplicate / ignored, with a warning), 1
when a file was refused.
"""

from __future__ import annotations

import argparse
from datetime import date

from customer360.cli_types import iso_date


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from customer360.landing.contract import CHANNELS

    parser = subparsers.add_parser(
        "ingest",
        help="load landing files up to a date into raw.<channel> (bad rows to audit.quarantine)",
        description=(
            "Load every landing file dated on or before --date that the manifest has not seen into "
            "raw.<channel>; rows failing the landing contract go to audit.quarantine, every file to "
            "audit.file_manifest."
        ),
    )
    parser.add_argument(
        "--date", dest="as_of_date", type=iso_date, required=True, help="as-of date YYYY-MM-DD"
    )
    parser.add_argument(
        "--channel",
        dest="channels",
        action="append",
        choices=sorted(CHANNELS),
        help="channel to load (repeatable; default: all)",
    )
    parser.add_argument("--run-id", default=None, help="run id recorded in lineage (default: manual__<date>)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from customer360.ingest.loader import load_channel
    from customer360.landing.contract import CHANNELS
    from customer360.settings import get_settings

    settings = get_settings()
    as_of_date: date = args.as_of_date
    run_id = args.run_id or f"manual__{as_of_date.isoformat()}"
    results = [load_channel(settings, name, as_of_date, run_id) for name in (args.channels or list(CHANNELS))]
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        for result in results:
            print(result.summary())
            for failure in result.failures:
                print(f"  FAILED {failure.message}")
            for ignored in result.ignored:
                print(f"  WARNING {ignored.file}: {ignored.message}")
            for note in result.drift:
                print(f"  drift: {note}")
    return 1 if any(r.failures for r in results) else 0
