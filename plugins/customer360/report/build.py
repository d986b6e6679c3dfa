"""Build one run's report, ``<run dir>/report.html``, from the published snapshot and the run's checks."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from customer360.report.snapshots import SnapshotRef, find_snapshot, snapshot_from_path
from customer360.settings import Settings
from customer360.warehouse import duckdb_config

REPORT_FILE = "report.html"


def _as_date(value: date | str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"logical date {value!r} is not a date in YYYY-MM-DD form") from exc


def _read_snapshot(settings: Settings, ref: SnapshotRef):
    """Sections and headline figures from one snapshot, opened read-only."""
    import duckdb

    from customer360.report import queries
    from customer360.report.sections import build_sections

    con = duckdb.connect(
        str(ref.database),
        read_only=True,
        config=duckdb_config(settings),
    )
    con.execute("set enable_progress_bar = false")
    try:
        counts = queries.mart_row_counts(con)
        sections = build_sections(con, counts, ref.held_back, ref.name)
        headline = queries.headline_figures(con, counts)
        currency = queries.currency(con, counts)
        changes = _changes(con, counts, ref.held_back)
    finally:
        con.close()
    return sections, headline, currency, changes


def _changes(con: Any, counts: dict[str, int], held_back: list[str]) -> dict[str, Any] | str:
    """The figures of this date beside the previous date's, or why there are none (a sentence)."""
    from customer360.report import queries

    if not counts.get("kpi_daily"):
        if "kpi_daily" in counts:
            reason = "has no rows"
        elif "kpi_daily" in held_back:
            reason = "was held back from the snapshot by the quality gate"
        else:
            reason = "is not in the snapshot"
        return f"no data: mart kpi_daily {reason}"
    try:
        return queries.kpi_changes(con) or "no data: mart kpi_daily holds no date"
    except Exception as exc:  # noqa: BLE001 - a mart that does not match its contract must not sink the page
        text = str(exc).strip()
        return f"no data: could not read kpi_daily: {text.splitlines()[0] if text else type(exc).__name__}"


def build_report(
    settings: Settings,
    logical_date: date | str,
    run_id: str | None,
    snapshot: Path | None = None,
) -> Path:
    """Write ``settings.run_dir(logical_date)/report.html`` and return its path.

    The page reads the snapshot the run published (see ``report.snapshots.find_snapshot``) or ``snapshot``
    when given (a ``marts.duckdb`` file or its folder). Sections whose mart is missing or empty say so.
    """
    from customer360.report.html import PageInfo, plotly_bundle, render_page
    from customer360.report.identity_model import identity_model_sections
    from customer360.report.run_quality import run_quality
    from customer360.report.sections import unavailable_sections

    day = _as_date(logical_date)
    run_dir = settings.run_dir(day.isoformat())
    ref = snapshot_from_path(snapshot) if snapshot is not None else find_snapshot(settings, day, run_id)
    if ref is None:
        sections = unavailable_sections(
            f"nothing is published under {settings.published_dir} yet (a run publishes its marts at the end)"
        )
        headline: dict[str, int | float | None] = {}
        currency, changes = None, "no data: nothing is published yet"
    else:
        sections, headline, currency, changes = _read_snapshot(settings, ref)
    info = PageInfo(
        logical_date=day.isoformat(),
        run_id=run_id or "unknown",
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        snapshot_name=ref.name if ref else None,
        snapshot_path=str(ref.database) if ref else None,
        caveat=ref.caveat(day, run_id) if ref and snapshot is None else None,
        headline=headline,
        currency=currency,
        changes=changes,
    )
    sections = [*sections, *identity_model_sections(settings)]
    page = render_page(info, sections, run_quality(run_dir, run_id), plotly_bundle())
    run_dir.mkdir(parents=True, exist_ok=True)
    target = run_dir / REPORT_FILE
    tmp = run_dir / f".{REPORT_FILE}.{os.getpid()}.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)  # a reader never sees half a page
    return target
