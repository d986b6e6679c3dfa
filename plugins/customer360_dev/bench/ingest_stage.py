"""One channel's ingest from an empty warehouse, timed in CPU seconds, so a change to a landing reader is
measured on its own without a whole ``customer360 bench`` run:

    python -m customer360_dev.bench.ingest_stage --scale medium --channel web_orders [--home DIR]

It reads the scale's cached landing data (``customer360 bench`` generates it once, under
``<home>/bench/<scale>/landing``), loads every file dated up to the first run's date into a fresh warehouse
under a scratch home, and prints the wall clock, the CPU seconds of the process (every thread: the reader
runs in one, DuckDB in others) and the records read, loaded and quarantined. Compare CPU seconds: on a
shared machine the wall clock follows the load. To compare two versions of the code, run it from each.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from customer360_dev.bench.run import END_DATE, SCALES, cpu_seconds


def main(argv: list[str] | None = None) -> int:
    from customer360 import pipeline
    from customer360.landing.contract import CHANNELS
    from customer360.settings import Settings, get_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=tuple(SCALES), default="medium")
    parser.add_argument("--channel", choices=tuple(CHANNELS), default="web_orders")
    parser.add_argument(
        "--home", type=Path, default=None, help="where the bench data are (default: settings)"
    )
    args = parser.parse_args(argv)
    landing = (args.home or get_settings().home) / "bench" / args.scale / "landing"
    if not (landing / args.channel).is_dir():
        parser.error(
            f"no {args.scale} landing data under {landing}: run customer360 bench --scale {args.scale}"
        )
    scratch = Path(tempfile.mkdtemp(prefix="c360-ingest-stage-"))
    try:
        settings = Settings(home=scratch, landing_root=landing)
        started, cpu_started = time.perf_counter(), cpu_seconds()
        outcome = pipeline.ingest(args.channel, END_DATE - timedelta(days=1), "ingest-stage", settings)
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    counts = ", ".join(f"{k} {outcome.get(k):,}" for k in ("rows_read", "rows_loaded", "rows_quarantined"))
    print(f"ingest:{args.channel} ({args.scale}): {cpu:.2f} CPU s, {wall:.2f} s wall; {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
