"""Run the pipeline's stages up to identity for one evaluation set, in a process of its own.

``run_pipeline(home, as_of_date)`` starts ``python -m customer360_dev.identity_eval.pipeline_run`` with
``CUSTOMER360_HOME=<home>``: the child reads its settings as any run does (``get_settings()``), ingests every
channel, builds the dbt staging layer (which holds the identity input) and resolves identity, with the
functions the DAG's tasks call (``customer360.pipeline``). So the evaluation scores whatever identity the
checkout has. Each set gets a fresh process: settings are read once per process, and the warehouse file,
dbt's connection and memory are released when it ends.

The quality gates are not run: they judge the data, and an evaluation set is scored whatever they say.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

RESULT_FILE = "pipeline_result.json"


class PipelineRunError(RuntimeError):
    """A stage failed for an evaluation set; the message names the set's log."""


def run_pipeline(home: Path, as_of_date: date, threads: int | None = None) -> dict[str, object]:
    """Ingest, build staging and resolve identity in ``home``; returns the stages' details."""
    home = Path(home).resolve()
    log_path = home / "pipeline.log"
    env = {**os.environ, "CUSTOMER360_HOME": str(home)}
    for derived in ("LANDING_ROOT", "WAREHOUSE_PATH", "PUBLISHED_DIR", "RUNS_DIR"):
        env.pop(f"CUSTOMER360_{derived}", None)  # everything of the set lives under its home
    if threads:
        env["CUSTOMER360_DUCKDB_THREADS"] = str(threads)
    command = [sys.executable, "-m", __name__, "--as-of-date", as_of_date.isoformat()]
    with log_path.open("w", encoding="utf-8") as log:
        done = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-25:]
        raise PipelineRunError(f"the pipeline failed for {home.name} (log: {log_path}):\n" + "\n".join(tail))
    return json.loads((home / RESULT_FILE).read_text())


def _stages(as_of_date: date) -> dict[str, object]:
    from customer360 import pipeline
    from customer360.landing.contract import CHANNELS
    from customer360.settings import get_settings

    settings = get_settings()
    run_id = f"eval__{as_of_date.isoformat()}"
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    ingested = {channel: pipeline.ingest(channel, as_of_date, run_id, settings) for channel in CHANNELS}
    seconds["ingest"] = time.perf_counter() - started
    started = time.perf_counter()
    pipeline.build_layer("staging", as_of_date, run_id, settings)
    seconds["dbt_staging"] = time.perf_counter() - started
    started = time.perf_counter()
    identity = pipeline.resolve_identity(as_of_date, run_id, settings)
    seconds["identity"] = time.perf_counter() - started
    return {
        "rows_loaded": {c: d.get("rows_loaded") for c, d in ingested.items()},
        "rows_quarantined": {c: d.get("rows_quarantined") for c, d in ingested.items()},
        "identity": identity,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of-date", type=date.fromisoformat, required=True)
    args = parser.parse_args(argv)
    from customer360.settings import get_settings

    result = _stages(args.as_of_date)
    (get_settings().home / RESULT_FILE).write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
