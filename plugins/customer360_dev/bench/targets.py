"""The performance targets (issue 24, docs/performance.md) set beside a benchmark result, met or not, and
each stage's cost per million records, compared across scales to flag a stage that grows faster than
linearly.

The targets are stated for the large scale (1M customers, 365 days, 2 cores). A result of a smaller scale
of at least ``PROJECT_FROM_CUSTOMERS`` is also set against them, projected to 1M customers in proportion
(``customers`` ratio): a projection that misses a target is a stage to look at before running the large
scale; only the large scale's own figures decide whether a target is met. Below that (the small scale)
fixed costs dominate and nothing is projected.

Records are the landing records the run read (``rows_read`` of every ingest stage): all history for the
first run, one day for the daily run. A stage's seconds per million records that grows by more than
``FASTER_THAN_LINEAR`` from a smaller scale to a larger one is flagged (stages under ``NOISE_SECONDS`` at
both scales are not compared: fixed costs dominate them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TARGET_CUSTOMERS = 1_000_000
PROJECT_FROM_CUSTOMERS = 100_000  # below this, fixed costs dominate: a projection would mean nothing
FASTER_THAN_LINEAR = 1.5
NOISE_SECONDS = 1.0


@dataclass(frozen=True)
class Target:
    name: str
    limit: float
    unit: str
    projected: bool  # the figure scales with the data (projected at smaller scales; else judged at 1M only)


TARGETS = (
    Target("first run, total", 240.0, "s", True),
    Target("first run, peak memory", 6.0, "GiB", False),
    Target("daily run, total", 60.0, "s", True),
    Target("RFM + historical value in DuckDB", 1.5, "s", True),
)


@dataclass(frozen=True)
class TargetCheck:
    target: Target
    measured: float | None
    at_target_scale: float | None  # measured, or projected to TARGET_CUSTOMERS
    met: bool | None
    note: str = ""


def _total(rows: list[dict[str, Any]], key: str) -> float | None:
    for row in rows:
        if row.get("stage") == "total":
            return row.get(key)
    return None


def check_targets(result: dict[str, Any]) -> list[TargetCheck]:
    """Every target beside the result's figure and (smaller scales) its projection to 1M customers."""
    customers = (result.get("parameters") or {}).get("customers") or TARGET_CUSTOMERS
    factor = TARGET_CUSTOMERS / customers
    peer = result.get("pandas_peer") or {}
    peak_mib = _total(result.get("first_run") or [], "peak_rss_mib")
    measured = {
        "first run, total": _total(result.get("first_run") or [], "median_s"),
        "first run, peak memory": None if peak_mib is None else peak_mib / 1024,
        "daily run, total": _total(result.get("daily_run") or [], "median_s"),
        "RFM + historical value in DuckDB": peer.get("sql_seconds_median"),
    }
    checks = []
    for target in TARGETS:
        value = measured[target.name]
        if value is None:
            checks.append(TargetCheck(target, None, None, None, "not measured"))
            continue
        if factor != 1 and not target.projected:
            note = f"measured at {customers:,} customers; only the 1M scale decides"
            checks.append(TargetCheck(target, value, None, None, note))
            continue
        if target.projected and customers < PROJECT_FROM_CUSTOMERS:
            note = f"measured at {customers:,} customers; not projected below {PROJECT_FROM_CUSTOMERS:,}"
            checks.append(TargetCheck(target, value, None, None, note))
            continue
        scaled = value * factor
        note = "" if factor == 1 else f"projected x{factor:g}"
        checks.append(TargetCheck(target, value, scaled, scaled <= target.limit, note))
    polars = peer.get("polars_seconds_median")
    sql = peer.get("sql_seconds_median")
    if polars is not None and sql is not None:
        faster = Target("RFM + historical value: DuckDB no slower than polars", polars, "s", False)
        checks.append(TargetCheck(faster, sql, sql, sql <= polars, f"polars {polars:.2f} s"))
    return checks


def per_million(rows: list[dict[str, Any]], records: int | None) -> list[dict[str, Any]]:
    """``rows`` with each stage's median seconds per million records read (``s_per_m_records``) and its CPU
    seconds per million records (``cpu_s_per_m_records``, when the row has CPU seconds)."""
    if not records:
        return rows
    return [
        {
            **row,
            "s_per_m_records": round(row["median_s"] * 1e6 / records, 3),
            **({"cpu_s_per_m_records": round(row["cpu_s"] * 1e6 / records, 3)} if row.get("cpu_s") else {}),
        }
        for row in rows
    ]


def growth_flags(result: dict[str, Any], smaller: list[dict[str, Any]]) -> list[str]:
    """Stages whose seconds per million records grew by more than FASTER_THAN_LINEAR from a result of a
    smaller scale (``smaller``: results with fewer customers) to ``result``."""
    customers = (result.get("parameters") or {}).get("customers") or 0
    flags = []
    for other in smaller:
        other_customers = (other.get("parameters") or {}).get("customers") or 0
        if not other_customers or other_customers >= customers:
            continue
        for run in ("first_run", "daily_run"):
            before = {row["stage"]: row for row in other.get(run) or []}
            for row in result.get(run) or []:
                old = before.get(row["stage"])
                if not old:
                    continue
                # CPU seconds when both results have them (a shared machine's load moves the wall clock)
                cpu = "cpu_s_per_m_records" in row and "cpu_s_per_m_records" in old
                key, seconds, unit = (
                    ("cpu_s_per_m_records", "cpu_s", "CPU s") if cpu else ("s_per_m_records", "median_s", "s")
                )
                if key not in row or key not in old:
                    continue
                if max(row[seconds], old[seconds]) < NOISE_SECONDS or not old[key]:
                    continue
                growth = row[key] / old[key]
                if growth > FASTER_THAN_LINEAR:
                    flags.append(
                        f"{run} {row['stage']}: {row[key]:.2f} {unit} per million records at "
                        f"{customers:,} customers vs {old[key]:.2f} at {other_customers:,} "
                        f"({growth:.1f}x): grows faster than linearly"
                    )
    return flags


def growth_rows(result: dict[str, Any], smaller: list[dict[str, Any]], run: str) -> list[dict[str, Any]]:
    """One row per stage of ``run``: its CPU seconds per million records (seconds per million when a result
    has no CPU seconds) at every scale of ``smaller`` with fewer customers and at ``result``'s, smallest
    first (``per_m``: customers -> figure), the growth from the smallest scale to ``result``'s, and whether
    that growth is flagged as faster than linear (as ``growth_flags`` judges it)."""
    customers = (result.get("parameters") or {}).get("customers") or 0
    scales = sorted(
        (
            ((other.get("parameters") or {}).get("customers") or 0, other)
            for other in smaller
            if 0 < ((other.get("parameters") or {}).get("customers") or 0) < customers
        ),
        key=lambda pair: pair[0],
    )
    scales.append((customers, result))
    flagged = {line.split(":", 1)[0] for line in growth_flags(result, smaller)}
    rows = []
    for row in result.get(run) or []:
        found = {
            size: other
            for size, data in scales
            for other in data.get(run) or []
            if other.get("stage") == row["stage"] and "s_per_m_records" in other
        }
        if not found:
            continue
        # CPU seconds only when every scale has them (one unit per row)
        key = "cpu_s_per_m_records"
        if not all(key in other for other in found.values()):
            key = "s_per_m_records"
        per_m = {size: other[key] for size, other in found.items()}
        first = per_m[min(per_m)]
        growth = per_m[customers] / first if customers in per_m and first and len(per_m) > 1 else None
        rows.append(
            {
                "stage": row["stage"],
                "per_m": per_m,
                "unit": "CPU s" if key == "cpu_s_per_m_records" else "s",
                "growth": None if growth is None else round(growth, 2),
                "faster_than_linear": f"{run} {row['stage']}" in flagged,
            }
        )
    return rows


def target_lines(checks: list[TargetCheck]) -> list[str]:
    """Markdown table rows: target, limit, measured, at 1M customers, met."""
    lines = [
        "| target (1M customers) | limit | measured | at 1M customers | met |",
        "|---|--:|--:|--:|---|",
    ]
    for check in checks:
        t = check.target
        measured = "" if check.measured is None else f"{check.measured:,.2f} {t.unit}"
        scaled = "" if check.at_target_scale is None else f"{check.at_target_scale:,.2f} {t.unit}"
        note = f" ({check.note})" if check.note else ""
        scaled = f"{scaled}{note}".strip()
        met = "n/a" if check.met is None else ("yes" if check.met else "**no**")
        lines.append(f"| {t.name} | {t.limit:,.2f} {t.unit} | {measured} | {scaled} | {met} |")
    return lines
