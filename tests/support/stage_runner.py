"""Run pipeline stages in this process, in the order given, the way the DAG's tasks call them.

``python stage_runner.py --date D --run-id R stage [stage ...]`` (the home comes from ``CUSTOMER360_HOME``);
``tests/support/pipeline_run.py`` runs the same ``main`` in a process forked from ``stage_server.py``.
Prints one JSON line per stage (``{"stage", "ok", "error"}``). Like the DAG, an ingest error does not stop
the sequence (``validate:raw`` decides) and ``summarize`` runs whatever happened before it; any other error
stops the stages after it except ``summarize``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date


def _call(name: str, logical_date: date, run_id: str) -> object:
    from customer360 import pipeline

    kind, _, arg = name.partition(":")
    if kind == "ingest":
        return pipeline.ingest(arg, logical_date, run_id)
    if kind == "validate":
        return pipeline.validate(arg, logical_date, run_id)
    if kind == "dbt":
        return pipeline.build_layer(arg, logical_date, run_id)
    if kind == "identity":
        return pipeline.resolve_identity(logical_date, run_id)
    if kind == "models":
        return pipeline.fit_models(logical_date, run_id)
    if kind == "publish":
        return pipeline.publish(logical_date, run_id)
    if kind == "summarize":
        return pipeline.summarize(logical_date, run_id)
    raise ValueError(f"unknown stage {name!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--date", type=date.fromisoformat, required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("stages", nargs="+")
    args = parser.parse_args(argv)
    failed = False
    for name in args.stages:
        if failed and name != "summarize":
            print(json.dumps({"stage": name, "ok": False, "error": "skipped: an upstream stage failed"}))
            continue
        try:
            _call(name, args.date, args.run_id)
        except Exception as exc:  # noqa: BLE001 - reported to the test as JSON
            print(
                json.dumps({"stage": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True
            )
            if not name.startswith("ingest:"):
                failed = True
            continue
        print(json.dumps({"stage": name, "ok": True, "error": None}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
