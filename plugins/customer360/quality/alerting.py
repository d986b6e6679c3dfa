"""Data-quality alerts beyond row-level checks: volume, freshness, and which marts a red check holds back.

Volume and freshness read ``audit.file_manifest`` (the files ingest saw, per channel and landing date):

- **volume anomaly**: the rows loaded for the run's date, per channel, against the median of the previous
  :data:`VOLUME_HISTORY_DATES` dates that channel loaded rows for; :data:`VOLUME_DROP_SHARE` (80%) fewer or
  worse is a warning, said in one sentence. A channel needs :data:`VOLUME_MIN_HISTORY_DATES` dates of history
  before it is judged, and a channel without a file for the date is the freshness alert's, not this one's.
- **freshness**: a channel that delivered no file for the run's date by the time the run checked:
  "no file for crm_contacts on 2026-11-20 by the run".

Both are SQL (``volume_anomaly_sql``, ``freshness_sql``) so the raw Great Expectations suite runs them
in-database (``expectations/raw.py``) and :func:`channel_alerts` runs the same queries for the command line.
Each returned row carries a ``message`` column: the sentence the summary and Data Docs show.

**Holding marts back.** A marts-stage check may name the marts its failure makes untrustworthy:
``meta={"marts": ["fct_orders", "customer_rfm"], ...}``; a check on a table in schema ``marts`` without that
key names its own table. When every critical failure of the marts stage names its marts (and no check is
broken), the failure is *contained*: ``pipeline.validate("marts")`` records the marts to hold back instead
of stopping the run, ``pipeline.publish`` publishes the other marts and leaves these out of the new snapshot
(``publish_marts(exclude=...)``), and the run's summary reports it as a problem (the run fails). A critical
failure that names no marts (identity, a staging reconciliation), a broken check or a missing table still
stops everything downstream: the last published snapshot stays current. Warnings never hold a mart back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from customer360.quality.specs import severity_of, sql_literal

if TYPE_CHECKING:
    from customer360.quality.results import CheckOutcome, StageResult
    from customer360.quality.specs import SuiteSpec
    from customer360.settings import Settings

# Thresholds (candidates for Settings).
VOLUME_HISTORY_DATES = 7
VOLUME_DROP_SHARE = 0.80
VOLUME_MIN_HISTORY_DATES = 3
MANIFEST = "audit.file_manifest"
HELD_BACK_FILE = "held_back.json"  # in <runs>/<D>/quality/
MARTS_SCHEMA = "marts"


@dataclass(frozen=True)
class Alert:
    channel: str
    kind: str  # "volume" | "freshness"
    message: str


def _loads_per_date(manifest: str) -> str:
    """Rows loaded per channel and landing date, from each file's latest 'loaded' manifest row."""
    return f"""loads as (
    select channel, source_file, load_date, rows_loaded from (
        select channel, source_file, load_date, rows_loaded,
            row_number() over (partition by channel, source_file order by ingested_at desc) as load_rank
        from {manifest}
        where status = 'loaded'
    ) as ranked
    where load_rank = 1
),
per_date as (
    select channel, load_date, sum(rows_loaded) as rows_loaded from loads group by channel, load_date
)"""


def volume_anomaly_sql(
    as_of_date: date,
    manifest: str = MANIFEST,
    history_dates: int = VOLUME_HISTORY_DATES,
    drop_share: float = VOLUME_DROP_SHARE,
    min_history: int = VOLUME_MIN_HISTORY_DATES,
) -> str:
    """One row per channel whose rows loaded for ``as_of_date`` dropped by ``drop_share`` or more."""
    day = f"date {sql_literal(as_of_date.isoformat())}"
    return f"""with {_loads_per_date(manifest)},
today as (select channel, rows_loaded from per_date where load_date = {day}),
history as (
    select channel, load_date, rows_loaded from (
        select channel, load_date, rows_loaded,
            row_number() over (partition by channel order by load_date desc) as recency
        from per_date
        where load_date < {day} and rows_loaded > 0
    ) as recent
    where recency <= {history_dates}
),
baseline as (
    select channel, percentile_cont(0.5) within group (order by rows_loaded) as median_rows,
        count(*) as dates,
        min(load_date) as first_date, max(load_date) as last_date
    from history group by channel
)
select t.channel, t.rows_loaded, b.median_rows, b.dates,
    round(cast(1 - t.rows_loaded / b.median_rows as decimal(18, 6)), 4) as drop_share,
    t.channel || ': ' || t.rows_loaded || ' rows loaded for {as_of_date.isoformat()}, '
        || cast(round(100 * (1 - t.rows_loaded / b.median_rows)) as integer)
        || '% fewer than the median of ' || b.median_rows || ' over the previous ' || b.dates
        || ' loaded dates (' || b.first_date || ' to ' || b.last_date || ')' as message
from today as t join baseline as b using (channel)
where b.dates >= {min_history} and b.median_rows > 0
    and t.rows_loaded <= (1 - {drop_share!r}) * b.median_rows
order by t.channel"""


def freshness_sql(as_of_date: date, channels: tuple[str, ...], manifest: str = MANIFEST) -> str:
    """One row per channel without any landing file (whatever its status, ignored files aside) for
    ``as_of_date`` in the manifest."""
    day = as_of_date.isoformat()
    expected = ", ".join(f"({sql_literal(name)})" for name in channels)
    return f"""with seen as (
    select channel from {manifest} where load_date = date {sql_literal(day)} and status <> 'ignored'
)
select expected.channel, 'no file for ' || expected.channel || ' on {day} by the run' as message
from (values {expected}) as expected(channel)
where expected.channel not in (select channel from seen)
order by expected.channel"""


def channel_alerts(settings: Settings, as_of_date: date) -> list[Alert]:
    """Volume and freshness alerts for one date, read from the warehouse (read-only)."""
    from customer360.landing.contract import CHANNELS
    from customer360.warehouse import connect

    with connect(settings, read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'audit' "
            "and table_name = 'file_manifest'"
        ).fetchone()[0]
        if not exists:
            return [Alert(c, "freshness", f"no file for {c} on {as_of_date} by the run") for c in CHANNELS]
        stale = con.execute(freshness_sql(as_of_date, tuple(CHANNELS))).fetchall()
        volume = con.execute(volume_anomaly_sql(as_of_date)).fetchall()
    alerts = [Alert(channel, "freshness", message) for channel, message in stale]
    alerts += [Alert(row[0], "volume", row[-1]) for row in volume]
    return alerts


# --- marts held back by contained failures -------------------------------------------------------------


def marts_of(spec: SuiteSpec, expectation: Any) -> list[str] | None:
    """The marts a failure of ``expectation`` makes untrustworthy; None when it names none."""
    meta = getattr(expectation, "meta", None) or {}
    if meta.get("marts"):
        return list(meta["marts"])
    if spec.schema == MARTS_SCHEMA:
        return [spec.table]
    return None


def _key(
    suite: str, expectation_type: str, column: str | None, description: str
) -> tuple[str, str, str, str]:
    return suite, expectation_type, column or "", description or ""


def _expectation_index(specs: list[SuiteSpec]) -> dict[tuple[str, str, str, str], list[str] | None]:
    index: dict[tuple[str, str, str, str], list[str] | None] = {}
    for spec in specs:
        for expectation in spec.expectations:
            config = expectation.configuration
            meta = expectation.meta or {}
            description = str(getattr(expectation, "description", None) or meta.get("why") or "")
            key = _key(spec.name, config.type, getattr(expectation, "column", None), description)
            marts = marts_of(spec, expectation)
            if key in index and index[key] is not None and marts is not None:
                marts = sorted(set(index[key] or []) | set(marts))
            elif key in index:
                marts = None
            index[key] = marts
    return index


def contained_marts(result: StageResult, specs: list[SuiteSpec]) -> set[str] | None:
    """Marts to hold back when every red check of the marts stage names its marts; else None."""
    if result.errors:
        return None  # a broken check is not a data failure: it stops the run
    index = _expectation_index(specs)
    held: set[str] = set()
    red: list[CheckOutcome] = [c for c in result.checks if c.status in ("failed", "missing_table")]
    for check in red:
        if check.severity != "critical":
            continue
        if check.status == "missing_table":
            return None
        marts = index.get(_key(check.suite, check.expectation, check.column, check.description))
        if not marts:
            return None
        held |= set(marts)
    return held or None


def held_back_path(settings: Settings, as_of_date: date) -> Path:
    return settings.run_dir(as_of_date.isoformat()) / "quality" / HELD_BACK_FILE


def record_held_back(
    settings: Settings, as_of_date: date, run_id: str, marts: set[str], reasons: list[str]
) -> Path:
    """Write which marts this run holds back and why (read by ``held_back_marts`` at publish)."""
    path = held_back_path(settings, as_of_date)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"run_id": run_id, "marts": sorted(marts), "reasons": reasons}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def held_back_marts(settings: Settings, as_of_date: date, run_id: str) -> set[str]:
    """Marts this run's marts checks held back (empty when none, or when the file is another run's)."""
    path = held_back_path(settings, as_of_date)
    if not path.exists():
        return set()
    payload = json.loads(path.read_text(encoding="utf-8"))
    return set(payload.get("marts", [])) if payload.get("run_id") == run_id else set()


def clear_held_back(settings: Settings, as_of_date: date) -> None:
    held_back_path(settings, as_of_date).unlink(missing_ok=True)


def severity_counts(specs: list[SuiteSpec]) -> dict[str, int]:
    """How many critical and warning expectations the suites hold (for docs and tests)."""
    counts = {"critical": 0, "warning": 0}
    for spec in specs:
        for expectation in spec.expectations:
            counts[severity_of(expectation)] += 1
    return counts
