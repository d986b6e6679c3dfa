"""``customer360 bench``: the benchmark command behind ``make bench``."""

from __future__ import annotations

import argparse
import json
import signal
from datetime import UTC, datetime
from pathlib import Path

from customer360.incremental import INCREMENTAL_LAYERS

BASELINE_DIR = Path(__file__).resolve().parents[3] / "bench"


def _print_header(result: dict, scale: str, engine: str) -> None:
    """The data set's generation time (when this run generated it) and the machine the result is from."""
    if result["generate_seconds"] is not None:
        print(f"generated the {scale} data set in {result['generate_seconds']:.1f} s")
    machine = result["machine"]
    print(
        f"{machine['cpu']} · {machine['cores']} cores · {machine['memory_gib']} GiB · {engine} "
        f"· load average {', '.join(f'{x:.2f}' for x in result['load_average'])}"
    )


def _print_table(title: str, rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("stage", "min s", "median s", "CPU s", "s per M records", "CPU s per M", "peak RSS MiB"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for row in rows:
        per_m = row.get("s_per_m_records")
        table.add_row(
            row["stage"],
            f"{row['min_s']:.2f}",
            f"{row['median_s']:.2f}",
            "" if row.get("cpu_s") is None else f"{row['cpu_s']:.2f}",
            "" if per_m is None else f"{per_m:.2f}",
            "" if row.get("cpu_s_per_m_records") is None else f"{row['cpu_s_per_m_records']:.2f}",
            f"{row['peak_rss_mib']:.0f}",
        )
    Console().print(table)


def _print_targets(result: dict) -> None:
    from customer360_dev.bench.targets import check_targets, target_lines

    print("targets (issue 24; smaller scales projected to 1M customers in proportion):")
    for line in target_lines(check_targets(result)):
        print(f"  {line}")


def _print_growth(result: dict, folders: list[Path]) -> None:
    """Flag stages growing faster than linearly against the newest smaller-scale result in ``folders``
    measured on the same machine (``machine_key``)."""
    from customer360_dev.bench.results_page import newest_by_scale, read_results
    from customer360_dev.bench.run import machine_key
    from customer360_dev.bench.targets import growth_flags

    here = machine_key(result.get("machine") or {})
    smaller = []
    for folder in folders:
        if folder.is_dir():
            same_machine = [
                (path, data)
                for path, data in read_results(folder)
                if machine_key(data.get("machine") or {}) == here
            ]
            smaller += [data for _path, data in newest_by_scale(same_machine)]
    flags = growth_flags(result, smaller)
    customers = (result.get("parameters") or {}).get("customers") or 0
    compared = sorted(
        {
            (d.get("parameters") or {}).get("customers") or 0
            for d in smaller
            if 0 < ((d.get("parameters") or {}).get("customers") or 0) < customers
            and any("s_per_m_records" in row for row in d.get("first_run") or [])
        }
    )
    if compared:
        _print_growth_table(result, smaller)
    for line in flags:
        print(f"FASTER THAN LINEAR: {line}")
    if not compared:
        print(
            f"growth: no smaller scale's result of this machine ({here}) with seconds per million records "
            "to compare with"
        )
    elif not flags:
        print(
            f"no stage grows faster than linearly against {', '.join(f'{c:,}' for c in compared)} customers"
        )


def _print_growth_table(result: dict, smaller: list[dict]) -> None:
    """Each stage's cost per million records at every scale measured on this machine, side by side."""
    from rich.console import Console
    from rich.table import Table

    from customer360_dev.bench.targets import growth_rows

    for run in ("first_run", "daily_run"):
        rows = growth_rows(result, smaller, run)
        sizes = sorted({size for row in rows for size in row["per_m"]})
        if len(sizes) < 2:
            continue
        table = Table(title=f"{run.replace('_', ' ')}: seconds per million records by scale (customers)")
        table.add_column("stage")
        for size in sizes:
            table.add_column(f"{size:,}", justify="right")
        for col in ("unit", "growth", "linear"):
            table.add_column(col, justify="right")
        for row in rows:
            growth = row["growth"]
            table.add_row(
                row["stage"],
                *("" if size not in row["per_m"] else f"{row['per_m'][size]:.2f}" for size in sizes),
                row["unit"],
                "" if growth is None else f"{growth:.2f}x",
                "FASTER THAN LINEAR" if row["faster_than_linear"] else "",
            )
        Console(width=160).print(table)


def _print_details(details: dict) -> None:
    identity = details.get("identity") or {}
    clv = details.get("clv") or {}
    churn = details.get("churn") or {}
    for layer in INCREMENTAL_LAYERS:
        build = details.get(f"{layer}_build") or {}
        if build:
            print(f"daily {layer} build: {build.get('mode')} ({build.get('reason')})")
    if identity:
        mode = identity.get("mode") or "full"
        resolved = identity.get("records_resolved")
        scope = f", {resolved:,} re-resolved" if mode == "incremental" and resolved is not None else ""
        print(
            f"daily identity run: {mode} ({identity.get('mode_reason') or 'every record'}); "
            f"{identity.get('records'):,} identity records{scope} -> "
            f"{identity.get('customers'):,} customers in {identity.get('seconds')} s"
        )
    if clv:
        fits = ", ".join(f"{name} {seconds} s" for name, seconds in (clv.get("fit_seconds") or {}).items())
        print(
            f"CLV: {clv.get('status')} on {clv.get('customers'):,} customers (fit: {fits}); "
            f"stage {clv.get('seconds')} s"
        )
    publish = details.get("publish") or {}
    if publish.get("publish_seconds") is not None:
        print(
            f"publish: snapshot {publish['publish_seconds']} s ({publish.get('rows') or 0:,} mart rows), "
            f"run report {publish.get('report_seconds')} s (wall, daily run)"
        )
    if churn:
        print(
            f"churn backtest: AUC {churn.get('auc')} vs baseline {churn.get('baseline_auc')}; precision in "
            f"the top decile {churn.get('precision_top_decile')} vs "
            f"{churn.get('baseline_precision_top_decile')}"
        )


def _bench(args: argparse.Namespace) -> int:
    from customer360.settings import get_settings
    from customer360_dev.bench.results_page import write_results_page
    from customer360_dev.bench.run import baseline_name, benchmark, compare_with_baseline, machine_key

    if args.render_only:
        print(f"results page: {write_results_page(args.results_dir)}")
        return 0
    settings = get_settings()
    target = args.target or ("spark" if settings.target == "spark" else "duckdb")
    if target == "spark":
        return _bench_spark(settings, args)
    first_repeat = args.first_repeat
    if first_repeat is None:
        first_repeat = 1 if args.scale == "large" else args.repeat
    result = benchmark(settings, args.scale, args.repeat, first_repeat)
    _print_header(result, args.scale, f"DuckDB threads {result['machine']['duckdb_threads']}")
    _print_table(
        f"first run ({args.scale}, all history), {result['first_repeat']} run(s)", result["first_run"]
    )
    _print_table(f"daily run ({args.scale}, one new day), {args.repeat} runs", result["daily_run"])
    print(
        f"records read: first run {result.get('first_run_records', 0):,}, "
        f"daily run {result.get('daily_run_records', 0):,}"
    )

    peer = result["pandas_peer"]
    print(
        "RFM + historical value: SQL (dbt's compiled models in DuckDB) "
        f"{peer['sql_seconds_median']:.2f} s vs pandas {peer['pandas_seconds_median']:.2f} s (median) -> "
        f"{peer['speedup_median']}x, vs polars "
        f"{peer.get('polars_seconds_median', float('nan')):.2f} s -> {peer.get('polars_speedup_median')}x; "
        f"{peer['customers_scored']:,} customers, {peer['order_lines']:,} order lines; "
        + (
            "all give the same scores and values"
            if peer["agree"]
            else f"MISMATCH: {peer.get('purchase_day_mismatches')} purchase days, "
            f"{peer['rfm_score_mismatches']} RFM scores, {peer['historical_value_mismatches']} values; "
            f"polars {peer.get('polars_mismatches')}"
        )
    )
    cpu = peer.get("cpu_seconds") or {}
    if cpu:
        print("  CPU seconds: " + ", ".join(f"{side} {seconds:.2f}" for side, seconds in cpu.items()))
    _print_details(result["stage_details"])
    _print_targets(result)
    out_dir = settings.home / "bench" / "results"
    _print_growth(result, [BASELINE_DIR, out_dir])
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{args.scale}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"results: {out}; page: {write_results_page(out_dir)}")

    # One baseline per machine (CPU model, cores, memory): a run is compared with its own machine's only.
    key = machine_key(result["machine"])
    baseline_path = BASELINE_DIR / baseline_name(args.scale, result["machine"])
    if args.write_baseline:
        BASELINE_DIR.mkdir(exist_ok=True)
        baseline_path.write_text(json.dumps(result, indent=2))
        print(
            f"baseline written for machine {key}: {baseline_path}; page: {write_results_page(BASELINE_DIR)}"
        )
    elif baseline_path.exists():
        print(f"compared with this machine's baseline: {baseline_path.name} (machine {key})")
        slower = compare_with_baseline(result, json.loads(baseline_path.read_text()))
        for line in slower:
            print(f"SLOWER THAN BASELINE: {line}")
        if slower and args.fail_on_regression:
            return 1
        if not slower:
            print(f"no stage is more than 1.5x slower than {baseline_path.name}")
    else:
        print(
            f"no {args.scale} baseline for this machine ({key}): not compared; write one with "
            f"customer360 bench --scale {args.scale} --write-baseline"
        )
    return 0


def _print_side_by_side(rows: list[dict], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("stage", "Spark s", "Spark CPU s", "Spark peak MiB", "DuckDB s", "DuckDB CPU s", "CPU x"):
        table.add_column(col, justify="left" if col == "stage" else "right")

    def cell(value: float | None, digits: int = 2) -> str:
        return "" if value is None else f"{value:,.{digits}f}"

    for row in rows:
        table.add_row(
            row["stage"] + (" *" if row["handed_over"] else ""),
            cell(row["spark_s"]),
            cell(row["spark_cpu_s"]),
            cell(row["spark_peak_rss_mib"], 0),
            cell(row["duckdb_s"]),
            cell(row["duckdb_cpu_s"]),
            cell(row["cpu_ratio"]),
        )
    Console(width=160).print(table)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _bench_spark(settings, args: argparse.Namespace) -> int:  # noqa: ANN001 - Settings, imported lazily
    """``customer360 bench --target spark``: one first run on a local Spark session, printed beside the
    newest DuckDB first run of the same scale (this folder's results, then the committed ones)."""
    from customer360_dev.bench.results_page import write_results_page
    from customer360_dev.bench.spark_run import (
        HANDED_OVER_STAGES,
        benchmark_spark,
        newest_duckdb_result,
        side_by_side,
    )

    signal.signal(signal.SIGTERM, _interrupt)  # a stopped run still writes the stages it timed
    result = benchmark_spark(settings, args.scale)
    stopped = result.get("stopped_at")
    if stopped:
        print(f"STOPPED at {stopped['stage']}: {stopped['error']}; the stages before it are kept")
    _print_header(result, args.scale, f"Spark {result['machine']['spark_master']}")
    out_dir = settings.home / "bench" / "results"
    duck = newest_duckdb_result([out_dir, BASELINE_DIR], args.scale)
    against = f"DuckDB: {duck[0].name}" if duck else "no DuckDB result of this scale to compare with"
    print(f"compared with {against}")
    _print_side_by_side(
        side_by_side(result, duck[1] if duck else None),
        f"first run on Spark ({args.scale}, all history) beside DuckDB's",
    )
    for stage, how in HANDED_OVER_STAGES.items():
        print(f"* {stage}: {how}")
    for run, why in result["not_measured"].items():
        print(f"not measured: {run}: {why}")
    print(f"records read: first run {result['first_run_records']:,}")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{args.scale}-spark-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"results: {out}; page: {write_results_page(out_dir)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="benchmark every stage (time and peak memory)")
    p.add_argument("--scale", choices=("small", "medium", "300k", "large"), default="small")
    p.add_argument(
        "--target",
        choices=("duckdb", "spark"),
        default=None,
        help="the warehouse to run on (default: CUSTOMER360_TARGET's, DuckDB unless it is spark); spark: one "
        "first run on a local session, beside DuckDB's newest result of the scale (docs/spark.md)",
    )
    p.add_argument("--repeat", type=int, default=3, help="daily runs (min and median are reported)")
    p.add_argument(
        "--first-repeat",
        type=int,
        default=None,
        help="first runs (all history, from an empty warehouse); default: --repeat, and 1 at the large scale",
    )
    p.add_argument(
        "--write-baseline", action="store_true", help="save this result as this machine's committed baseline"
    )
    p.add_argument("--fail-on-regression", action="store_true", help="exit 1 when a stage is 1.5x slower")
    p.add_argument(
        "--render-only",
        action="store_true",
        help="run nothing: write RESULTS.md from the newest result of each scale in --results-dir",
    )
    p.add_argument(
        "--results-dir", type=Path, default=BASELINE_DIR, help="for --render-only (default: bench/)"
    )
    p.set_defaults(func=_bench)
