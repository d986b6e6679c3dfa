"""``customer360 privacy scan``, ``customer360 privacy erase-queue`` and ``customer360 erase``.

- ``privacy scan [--json] [--schema S ...]``: look for raw emails and phone numbers in the BI-facing schemas,
  the published snapshots, run folders and logs; exit 1 when anything is found.
- ``erase --email X [--phone Y] [--queue-only]``: remove one person now (the request is queued first, so a
  crash leaves it for the ``customer360_erasure`` DAG), or only queue it.
- ``privacy erase-queue``: process every queued request (what the DAG's task does).

Heavy imports (duckdb, pyarrow) happen inside the functions.
"""

from __future__ import annotations

import argparse
import json
import sys


def scan_command(args: argparse.Namespace) -> int:
    from customer360.privacy.scan import BI_SCHEMAS, render, scan
    from customer360.settings import get_settings

    report = scan(get_settings(), schemas=tuple(args.schema) if args.schema else BI_SCHEMAS)
    print(render(report, as_json=args.json))
    return 0 if report.clean else 1


def erase_command(args: argparse.Namespace) -> int:
    from customer360.privacy.erasure import ErasureRequest, ErasureRequestError, erase, submit
    from customer360.settings import get_settings

    settings = get_settings()
    try:
        request = ErasureRequest.new(email=args.email, phone=args.phone)
    except ErasureRequestError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    path = submit(settings, request)
    if args.queue_only:
        print(
            f"queued erasure request {request.request_id} ({path}); the customer360_erasure DAG processes it"
        )
        return 0
    result = erase(settings, request)
    path.unlink(missing_ok=True)
    print(json.dumps(result.as_dict(), indent=2))
    return 0


def erase_queue_command(args: argparse.Namespace) -> int:
    from customer360.privacy.erasure import process_queue
    from customer360.settings import get_settings

    results = process_queue(get_settings())
    print(json.dumps([r.as_dict() for r in results], indent=2))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    privacy = subparsers.add_parser("privacy", help="personal data: leak scan, erasure queue")
    actions = privacy.add_subparsers(dest="privacy_command", metavar="ACTION", required=True)

    p = actions.add_parser("scan", help="look for raw emails/phone numbers in BI-facing data, runs and logs")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--schema", action="append", help="warehouse schema to scan (default: marts); repeatable")
    p.set_defaults(func=scan_command)

    p = actions.add_parser("erase-queue", help="process every queued erasure request")
    p.set_defaults(func=erase_queue_command)

    p = subparsers.add_parser(
        "erase", help="erase one person (by email and/or phone) from everything written"
    )
    p.add_argument("--email", help="the person's email address")
    p.add_argument("--phone", help="the person's phone number, any format")
    p.add_argument("--queue-only", action="store_true", help="only queue the request for the erasure DAG")
    p.set_defaults(func=erase_command)
