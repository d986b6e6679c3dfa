"""The publish stage alone, on the state a ``customer360 bench`` run left, timed in CPU seconds: the
snapshot (``publish_marts``) and the run report (``build_report``) apart, so a publish change is measured
before and after without a whole bench run:

    python -m customer360_dev.bench.publish_stage --scale small [--rounds N] [--home DIR]

It copies the scale's bench state (``<home>/bench/<scale>/run``: the warehouse and the published
snapshots of the last daily run) to a scratch home, then publishes the daily run's date ``--rounds``
times from it (each round a new snapshot, as a rerun would make) and prints, per round, the CPU and wall
seconds of the snapshot and of the report, and the rows published. Compare CPU seconds: on a shared
machine the wall clock follows the load. To compare two versions of the code, run it from each.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from customer360_dev.bench.run import END_DATE, SCALES, cpu_seconds


def main(argv: list[str] | None = None) -> int:
    from customer360.publish import publish_marts
    from customer360.report import build_report
    from customer360.settings import Settings, get_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=tuple(SCALES), default="small")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--home", type=Path, default=None, help="where the bench data are (default: settings)"
    )
    args = parser.parse_args(argv)
    state = (args.home or get_settings().home) / "bench" / args.scale / "run"
    if not (state / "warehouse").is_dir():
        parser.error(f"no {args.scale} bench state under {state}: run customer360 bench --scale {args.scale}")
    scratch = Path(tempfile.mkdtemp(prefix="c360-publish-stage-"))
    try:
        home = scratch / "home"
        shutil.copytree(state, home, symlinks=True)
        settings = Settings(home=home)
        for round_ in range(1, args.rounds + 1):
            run_id = f"publish-stage-{round_}"
            started, cpu_started = time.perf_counter(), cpu_seconds()
            result = publish_marts(settings, END_DATE, run_id)
            middle, cpu_middle = time.perf_counter(), cpu_seconds()
            build_report(settings, END_DATE, run_id)
            ended, cpu_ended = time.perf_counter(), cpu_seconds()
            print(
                f"round {round_} ({args.scale}): snapshot {cpu_middle - cpu_started:.2f} CPU s "
                f"({middle - started:.2f} s wall), report {cpu_ended - cpu_middle:.2f} CPU s "
                f"({ended - middle:.2f} s wall); {sum(result['tables'].values()):,} rows in "
                f"{len(result['tables'])} marts",
                flush=True,
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
