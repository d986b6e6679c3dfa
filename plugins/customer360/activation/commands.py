"""``customer360 activate [--date D] [--dry-run]``: send the audiences, or show what would be sent."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from customer360.cli_types import iso_date


def _print_result(result) -> None:
    from customer360.activation import totals

    mode = "dry run: nothing sent, no state changed" if result.dry_run else "sent"
    print(
        f"activation {result.run_date} (run {result.run_id}; "
        f"audience file version {result.audience_file_version}; "
        f"{mode})"
    )
    print(
        f"{'audience':<24} {'matched':>8} {'members':>8} {'entered':>8} {'exited':>7} {'changed':>8} "
        f"{'no consent':>10} {'capped':>7} {'deleted':>8}"
    )
    for name, c in result.audiences.items():
        print(
            f"{name:<24} {c['matched']:>8} {c['members']:>8} {c['entered']:>8} {c['exited']:>7} "
            f"{c['changed']:>8} "
            f"{c['excluded_no_consent']:>10} {c['excluded_contact_cap']:>7} {c['excluded_deleted']:>8}"
        )
    print(f"{'audience':<24} {'destination':<20} {'type':<9} what")
    for d in result.deliveries:
        if d["type"] == "file":
            what = f"{d.get('rows', 0)} rows: {d['status']}"
        elif d["type"] == "webhook":
            what = (
                f"{d.get('events', 0)} events in {d.get('batches', 0)} batches "
                f"({d.get('already_delivered', 0)} already delivered): {d['status']}"
            )
            if "retries" in d:
                what += f"; {d['retries']} retries, {d.get('batches_dead_lettered', 0)} dead-lettered"
        else:
            what = f"{d.get('rows', 0)} rows"
            if "upserted" in d:
                what += f", {d['upserted']} to upsert, {d['deleted']} to delete"
            what += f": {d['status']}"
        if d.get("error"):
            what = f"failed: {d['error']}"
        print(f"{d['audience']:<24} {d['destination']:<20} {d['type']:<9} {what}")
    for r in result.removals:
        what = f"no longer in the audience file: {r['status']}"
        if r["type"] == "postgres" and r["status"] in ("removed", "would remove"):
            what += f" {r['removed']} rows from {r['table']}"
        elif r["type"] == "webhook" and (r["status"] == "removed" or r["status"].startswith("would send")):
            what += f" ({r['removed']} exit events)"
        print(f"{r['audience']:<24} {r['destination']:<20} {r['type']:<9} {what}")
    print("totals: " + ", ".join(f"{k} {v}" for k, v in totals(result).items()))
    for warning in result.warnings:
        print(f"warning: {warning}")
    for failure in result.failures:
        print(f"failed: {failure}", file=sys.stderr)


def activate_command(args: argparse.Namespace) -> int:
    from customer360.activation import ActivationError, AudienceFileError, activate
    from customer360.settings import get_settings

    run_id = f"cli__{datetime.now(UTC).isoformat()}"
    try:
        result = activate(get_settings(), args.date, run_id, dry_run=args.dry_run)
    except (ActivationError, AudienceFileError) as exc:
        print(f"customer360 activate: {exc}", file=sys.stderr)
        return 2
    _print_result(result)
    return 1 if result.failures else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "activate",
        help="send the audiences of config/audiences.yml to their destinations (--dry-run: what would go)",
    )
    p.add_argument(
        "--date", type=iso_date, help="the published snapshot's date (default: the current snapshot)"
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="count members, changes and sends per destination; send nothing",
    )
    p.set_defaults(func=activate_command)
