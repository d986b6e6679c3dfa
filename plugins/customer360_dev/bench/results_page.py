"""The benchmark's figures as a markdown page: the newest result of each scale in a folder of ``customer360
bench`` JSON files, rendered as tables, so the documented figures are always generated, never typed.

``customer360 bench --render-only`` writes ``bench/RESULTS.md`` from the committed results;
``customer360 bench`` writes ``RESULTS.md`` beside the result it has just measured.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from customer360_dev.bench.targets import check_targets, target_lines

PAGE_NAME = "RESULTS.md"
SCALE_ORDER = ("small", "medium", "300k", "large")


def read_results(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every benchmark result in ``folder`` (a JSON file with ``measured_at``, ``first_run`` and
    ``daily_run``); other JSON files are left alone. A file that is not JSON is an error that names it."""
    results = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {exc.lineno}, column {exc.colno}: not JSON ({exc.msg})") from exc
        if isinstance(data, dict) and {"measured_at", "first_run", "daily_run"} <= data.keys():
            results.append((path, data))
    return results


def result_target(data: dict[str, Any]) -> str:
    """The warehouse a result was measured on (results before ``--target`` are DuckDB's)."""
    return str(data.get("target") or "duckdb")


def newest_by_scale(
    results: list[tuple[Path, dict[str, Any]]], target: str = "duckdb"
) -> list[tuple[Path, dict[str, Any]]]:
    """The most recently measured result of ``target`` of each scale, smallest scale first."""
    newest: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path, data in results:
        if result_target(data) != target:
            continue
        scale = str(data.get("scale", "unknown"))
        kept = newest.get(scale)
        if kept is None or _measured_at(data) > _measured_at(kept[1]):
            newest[scale] = (path, data)
    order = {scale: i for i, scale in enumerate(SCALE_ORDER)}
    return [newest[s] for s in sorted(newest, key=lambda s: (order.get(s, len(order)), s))]


def _measured_at(data: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(data["measured_at"]))


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}"


def _gib(mib: float | None) -> str:
    return "" if mib is None else f"{mib / 1024:.1f}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _stage_table(data: dict[str, Any]) -> list[str]:
    first = {row["stage"]: row for row in data["first_run"]}
    daily = {row["stage"]: row for row in data["daily_run"]}
    stages = list(first) + [s for s in daily if s not in first]
    rows = (*data["first_run"], *data["daily_run"])
    # Columns newer results carry: CPU seconds (less sensitive to a shared machine's load than the wall
    # clock) and seconds per million records read.
    extra = [
        (key, label)
        for key, label in (("cpu_s", "CPU s"), ("s_per_m_records", "s per M records"))
        if any(key in row for row in rows)
    ]
    header = "| stage | first run, s | first run, peak GiB | daily run (median), s | daily run (min), s | "
    header += "daily run, peak GiB |"
    header += "".join(f" first run, {label} | daily run, {label} |" for _key, label in extra)
    lines = [header, "|---|--:|--:|--:|--:|--:|" + "--:|--:|" * len(extra)]
    for stage in stages:
        f, d = first.get(stage, {}), daily.get(stage, {})
        name = f"**{stage}**" if stage == "total" else f"`{stage}`"
        cells = "".join(f" {_per_m(f.get(key))} | {_per_m(d.get(key))} |" for key, _label in extra)
        lines.append(
            f"| {name} | {_seconds(f.get('median_s'))} | {_gib(f.get('peak_rss_mib'))} | "
            f"{_seconds(d.get('median_s'))} | {_seconds(d.get('min_s'))} | {_gib(d.get('peak_rss_mib'))} |"
            + cells
        )
    return lines


def _per_m(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _peer_line(peer: dict[str, Any]) -> str:
    if not peer:
        return ""
    agree = "the same scores and values" if peer.get("agree") else "DIFFERENT scores or values"
    return (
        f"DataFrame peers (RFM and historical value over {peer.get('customers_scored', 0):,} customers and "
        f"{peer.get('order_lines', 0):,} order lines, median): "
        f"SQL {peer.get('sql_seconds_median', 0):.2f} s, "
        f"pandas {peer.get('pandas_seconds_median', 0):.2f} s, "
        f"{peer.get('speedup_median')}x"
        + (
            f"; polars {peer['polars_seconds_median']:.2f} s (SQL at {peer.get('polars_speedup_median')}x "
            "polars' speed)"
            if peer.get("polars_seconds_median") is not None
            else ""
        )
        + (
            "; CPU seconds "
            + ", ".join(f"{side} {seconds:.2f}" for side, seconds in peer["cpu_seconds"].items())
            if peer.get("cpu_seconds")
            else ""
        )
        + f"; {agree}."
    )


def _details_lines(details: dict[str, Any]) -> list[str]:
    lines = []
    for layer in ("staging", "core"):
        build = details.get(f"{layer}_build") or {}
        if build:
            lines.append(f"- daily {layer} build: {build.get('mode')} ({build.get('reason')})")
    identity = details.get("identity") or {}
    if identity.get("records") is not None:
        resolved = identity.get("records_resolved")
        scope = f", {resolved:,} resolved again" if resolved is not None else ""
        lines.append(
            f"- daily identity run: {identity.get('mode') or 'full'}; "
            f"{identity['records']:,} identity records{scope} -> {identity.get('customers', 0):,} customers"
        )
    churn = details.get("churn") or {}
    if churn.get("auc") is not None:
        lines.append(
            f"- churn backtest: AUC {_ratio(churn['auc'])} (baseline {_ratio(churn.get('baseline_auc'))}), "
            f"precision in the top decile {_ratio(churn.get('precision_top_decile'))} "
            f"(baseline {_ratio(churn.get('baseline_precision_top_decile'))})"
        )
    return lines


def render_result(path: Path, data: dict[str, Any]) -> str:
    """One scale's section: what was run, on what, and the stage table."""
    params = data.get("parameters") or {}
    machine = data.get("machine") or {}
    load = ", ".join(f"{x:.2f}" for x in data.get("load_average") or [])
    versions = ", ".join(f"{k} {v}" for k, v in (machine.get("versions") or {}).items())
    lines = [
        f"## {data.get('scale', 'unknown')}: {params.get('customers', 0):,} customers, "
        f"{params.get('days', 0):,} days",
        "",
        f"From `{path.name}`, measured {data['measured_at']}: "
        f"{data.get('first_repeat', 1)} first run(s) over all history, "
        f"then {data.get('repeat', 1)} daily run(s) adding one day. Machine: "
        f"{machine.get('cpu', 'unknown')}, {machine.get('cores', '?')} cores, "
        f"{machine.get('memory_gib', '?')} GiB, DuckDB threads {machine.get('duckdb_threads', '?')}, "
        f"memory limit {machine.get('duckdb_memory_limit', '?')}; load average {load or 'unknown'}.",
        "",
        *_stage_table(data),
        "",
    ]
    records = data.get("first_run_records")
    if records:
        lines += [
            f"Records read: {records:,} by the first run, "
            f"{data.get('daily_run_records', 0):,} by a daily run.",
            "",
        ]
    peer = _peer_line(data.get("pandas_peer") or {})
    if peer:
        lines += [peer, ""]
    lines += [*target_lines(check_targets(data)), ""]
    details = _details_lines(data.get("stage_details") or {})
    if details:
        lines += [*details, ""]
    if versions:
        lines += [f"Versions: {versions}.", ""]
    return "\n".join(lines)


def spark_table(rows: list[dict[str, Any]]) -> list[str]:
    """Spark's first run beside DuckDB's, stage by stage (``spark_run.side_by_side``'s rows)."""
    lines = [
        "| stage | Spark, s | Spark, CPU s | Spark, peak GiB | DuckDB, s | DuckDB, CPU s "
        "| Spark CPU / DuckDB CPU |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        name = (
            "**total**"
            if row["stage"] == "total"
            else f"`{row['stage']}`" + (" *" if row["handed_over"] else "")
        )
        ratio = "" if row["cpu_ratio"] is None else f"{row['cpu_ratio']:,.1f}x"
        lines.append(
            f"| {name} | {_seconds(row['spark_s'])} | {_seconds(row['spark_cpu_s'])} | "
            f"{_gib(row['spark_peak_rss_mib'])} | {_seconds(row['duckdb_s'])} | "
            f"{_seconds(row['duckdb_cpu_s'])} | "
            f"{ratio} |"
        )
    return lines


def render_spark_result(path: Path, data: dict[str, Any], duckdb: tuple[Path, dict[str, Any]] | None) -> str:
    """One Spark result's section: its first run beside the newest DuckDB result of its scale."""
    from customer360_dev.bench.spark_run import side_by_side

    params = data.get("parameters") or {}
    machine = data.get("machine") or {}
    load = ", ".join(f"{x:.2f}" for x in data.get("load_average") or [])
    versions = ", ".join(f"{k} {v}" for k, v in (machine.get("versions") or {}).items())
    against = (
        f"DuckDB's first run from `{duckdb[0].name}` (measured {duckdb[1]['measured_at']}, load average "
        + ", ".join(f"{x:.2f}" for x in duckdb[1].get("load_average") or [])
        + ")"
        if duckdb
        else "no DuckDB result of this scale in this folder"
    )
    lines = [
        f"## {data.get('scale', 'unknown')} on Spark: {params.get('customers', 0):,} customers, "
        f"{params.get('days', 0):,} days",
        "",
        f"From `{path.name}`, measured {data['measured_at']}: one first run over all history on a Spark "
        f"session (`{machine.get('spark_master', '?')}`), beside {against}. Machine: "
        f"{machine.get('cpu', 'unknown')}, {machine.get('cores', '?')} cores, "
        f"{machine.get('memory_gib', '?')} GiB; load average {load or 'unknown'}. Spark's CPU seconds and "
        "peak memory include its driver JVM and Python workers (child processes); `spark:session` is the "
        "session's start.",
        "",
        *spark_table(side_by_side(data, duckdb[1] if duckdb else None)),
        "",
    ]
    stopped = data.get("stopped_at")
    if stopped:
        lines += [
            f"**Stopped at `{stopped.get('stage')}`** ({stopped.get('error')}): the rows are the stages "
            "before it, and the total is theirs.",
            "",
        ]
    for stage, how in (data.get("handed_over_stages") or {}).items():
        lines += [f"\\* `{stage}` does not run on Spark yet: {how}.", ""]
    for run, why in (data.get("not_measured") or {}).items():
        lines += [f"Not measured: the {run.replace('_', ' ')}: {why}.", ""]
    if data.get("first_run_records"):
        lines += [f"Records read: {data['first_run_records']:,} by the first run.", ""]
    if versions:
        lines += [f"Versions: {versions}.", ""]
    return "\n".join(lines)


def render_page(folder: Path) -> str:
    """The page for the newest result of each scale in ``folder``, then each Spark result's newest."""
    results = read_results(folder)
    newest = newest_by_scale(results)
    spark = newest_by_scale(results, "spark")
    if not newest and not spark:
        raise FileNotFoundError(f"{folder}: no benchmark result (*.json written by customer360 bench)")
    header = [
        "# Benchmark results",
        "",
        "<!-- Generated from the JSON files in this folder by `customer360 bench` (after a run) or",
        "     `customer360 bench --render-only`; do not edit. -->",
        "",
        "The newest result of each scale in this folder (`customer360 bench --scale <scale>`). Times are "
        "seconds of wall clock per stage, run in one process as `customer360 run` runs them; peak memory is "
        "the process's resident set while the stage ran (it includes what earlier stages left).",
        "",
    ]
    duckdb_by_scale = {data.get("scale"): (path, data) for path, data in newest}
    sections = [render_result(path, data) for path, data in newest]
    sections += [
        render_spark_result(path, data, duckdb_by_scale.get(data.get("scale"))) for path, data in spark
    ]
    return "\n".join(header) + "\n" + "\n".join(sections)


def write_results_page(folder: Path) -> Path:
    """Render the page for ``folder`` into ``folder/RESULTS.md`` and return its path."""
    out = folder / PAGE_NAME
    out.write_text(render_page(folder), encoding="utf-8")
    return out
