"""Generate landing files for every channel, day by day, plus the ground truth.

``generate`` draws the persons and their event schedule once (header level: one row per order, ticket,
CRM version, marketing event, survey response), then renders each day of each channel from its own
seeded random stream, puts dirt in, writes the file and releases it. Order lines exist one day at a time.
The same seed and arguments give byte-identical files.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

import numpy as np

from customer360.landing.contract import CHANNELS
from customer360_dev.datagen.batch import Batch
from customer360_dev.datagen.behaviour import build_schedule
from customer360_dev.datagen.crm import CrmContacts
from customer360_dev.datagen.defaults import DEFAULT_DIRT, TRUTH_DIR_NAME
from customer360_dev.datagen.dirt import DIRT_KINDS, EXACT_DUPLICATE_SHARE, duplicate, spoil
from customer360_dev.datagen.formatting import take
from customer360_dev.datagen.marketing import MarketingEvents
from customer360_dev.datagen.orders import PosTransactions, WebOrders, build_catalogue
from customer360_dev.datagen.people import build_persons
from customer360_dev.datagen.service import SupportTickets, SurveyResponses
from customer360_dev.datagen.truth import SourceRecordsWriter, write_persons, write_planted

log = logging.getLogger(__name__)

STATS_FILE = "generation_stats.json"
# Random streams: one per purpose, and one per channel and day for the rendering.
_STREAM_PERSONS, _STREAM_SCHEDULE, _STREAM_CATALOGUE, _STREAM_CHANNEL_BASE = 1, 2, 3, 100
_EPOCH = date(1970, 1, 1)


class _Builder(Protocol):
    def build(self, day: int, rng: np.random.Generator) -> Batch | None: ...


@dataclass
class FileStats:
    channel: str
    load_date: str
    path: str  # relative to the output folder
    records: int  # CSV data lines, JSON lines, Parquet rows
    rows: int  # raw rows ingest reads (web orders: one per order line; a malformed JSON line counts once)
    invalid_records: int
    invalid_rows: int  # raw rows ingest should quarantine
    bytes: int


@dataclass
class ChannelStats:
    files: int = 0
    records: int = 0
    rows: int = 0
    bytes: int = 0
    invalid_records: int = 0
    invalid_rows: int = 0
    invalid_by_kind: dict[str, int] = field(default_factory=dict)
    exact_duplicates: int = 0
    near_duplicates: int = 0
    truth_records: int = 0


@dataclass
class GenerationStats:
    out: str
    truth_dir: str
    customers: int
    days: int
    seed: int
    dirt: float
    start_date: str
    end_date: str
    channels: dict[str, ChannelStats]
    files: list[FileStats]
    truth_records: int = 0
    seconds: float = 0.0
    seconds_by_phase: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(c.rows for c in self.channels.values())

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def default_end_date() -> date:
    """Yesterday in UTC: the last complete day."""
    return datetime.now(UTC).date() - timedelta(days=1)


def _check_arguments(customers: int, days: int, dirt: float) -> None:
    if customers < 1:
        raise ValueError(f"--customers must be at least 1, got {customers}")
    if days < 1:
        raise ValueError(f"--days must be at least 1, got {days}")
    if not 0.0 <= dirt <= 0.5:
        raise ValueError(f"--dirt is the share of invalid records, between 0 and 0.5; got {dirt}")


def _file_stats(batch: Batch | None) -> tuple[int, int, int, int, dict[str, int], int, int]:
    if batch is None or not batch.n_records:
        return 0, 0, 0, 0, {}, 0, 0
    rows_per_record = batch.lines_per_record()
    malformed = batch.invalid_kind == DIRT_KINDS.index("malformed_json")
    rows_per_record = np.where(malformed, 1, rows_per_record)
    invalid = batch.invalid_kind >= 0
    kinds = np.bincount(batch.invalid_kind[invalid].astype(np.int64), minlength=len(DIRT_KINDS))
    by_kind = {DIRT_KINDS[i]: int(c) for i, c in enumerate(kinds) if c}
    return (
        batch.n_records,
        int(rows_per_record.sum()),
        int(invalid.sum()),
        int(batch.invalid_rows[invalid].sum()),
        by_kind,
        int(batch.exact_duplicate.sum()),
        int(batch.near_duplicate.sum()),
    )


def generate(
    out: Path,
    customers: int,
    days: int,
    seed: int,
    end_date: date | None = None,
    dirt: float = DEFAULT_DIRT,
    truth_dir: Path | None = None,
) -> GenerationStats:
    """Write ``days`` days of landing files ending at ``end_date`` for ``customers`` persons.

    Files go to ``<out>/<channel>/<YYYY-MM-DD>/<channel>_<YYYY-MM-DD>.<ext>``; the ground truth and the
    generation stats to ``truth_dir`` (default ``<out>/../ground_truth``).
    """
    from customer360_dev.datagen.writer import landing_file, write_batch

    _check_arguments(customers, days, dirt)
    started = time.perf_counter()
    end_date = end_date or default_end_date()
    out = Path(out)
    truth_dir = Path(truth_dir) if truth_dir is not None else out.parent / TRUTH_DIR_NAME
    end_day = (end_date - _EPOCH).days
    first_day = end_day - days + 1
    phases: dict[str, float] = {}

    persons = build_persons(np.random.default_rng([seed, _STREAM_PERSONS]), customers, first_day, days)
    phases["persons"] = time.perf_counter() - started
    schedule = build_schedule(np.random.default_rng([seed, _STREAM_SCHEDULE]), persons, first_day, days)
    catalogue = build_catalogue(np.random.default_rng([seed, _STREAM_CATALOGUE]))
    phases["schedule"] = time.perf_counter() - started - phases["persons"]
    builders: dict[str, _Builder] = {
        "crm_contacts": CrmContacts(persons, schedule),
        "web_orders": WebOrders(persons, schedule, catalogue),
        "pos_transactions": PosTransactions(persons, schedule, catalogue),
        "support_tickets": SupportTickets(persons, schedule),
        "marketing_events": MarketingEvents(persons, schedule),
        "surveys": SurveyResponses(persons, schedule),
    }
    channel_stats = {name: ChannelStats() for name in CHANNELS}
    files: list[FileStats] = []
    truth = SourceRecordsWriter(truth_dir)
    try:
        for day in range(first_day, first_day + days):
            day_text = (_EPOCH + timedelta(days=day)).isoformat()
            for index, (name, channel) in enumerate(CHANNELS.items()):
                channel_started = time.perf_counter()
                rng = np.random.default_rng([seed, _STREAM_CHANNEL_BASE + index, day])
                batch = builders[name].build(day, rng)
                if batch is not None:
                    spoil(batch, name, dirt, rng)
                    batch = duplicate(batch, EXACT_DUPLICATE_SHARE, rng)
                path = landing_file(out, channel, day_text)
                size = write_batch(path, batch if batch is not None else _empty_batch(), channel)
                records, rows, bad_records, bad_rows, by_kind, exact, near = _file_stats(batch)
                stats = channel_stats[name]
                stats.files += 1
                stats.records += records
                stats.rows += rows
                stats.bytes += size
                stats.invalid_records += bad_records
                stats.invalid_rows += bad_rows
                stats.exact_duplicates += exact
                stats.near_duplicates += near
                for kind, count in by_kind.items():
                    stats.invalid_by_kind[kind] = stats.invalid_by_kind.get(kind, 0) + count
                files.append(
                    FileStats(
                        name,
                        day_text,
                        path.relative_to(out).as_posix(),
                        records,
                        rows,
                        bad_records,
                        bad_rows,
                        size,
                    )
                )
                if batch is not None and batch.in_truth.any():
                    keep = np.flatnonzero(batch.in_truth)
                    stats.truth_records += truth.add(
                        name, take(batch.record_id, keep), take(persons.person_id, batch.person[keep])
                    )
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - channel_started
            if (day - first_day + 1) % 30 == 0:
                log.info("generated %d of %d days", day - first_day + 1, days)
    finally:
        truth.close()
    write_persons(truth_dir, persons, schedule)
    write_planted(truth_dir, persons, schedule)
    stats = GenerationStats(
        out=str(out),
        truth_dir=str(truth_dir),
        customers=customers,
        days=days,
        seed=seed,
        dirt=dirt,
        start_date=(_EPOCH + timedelta(days=first_day)).isoformat(),
        end_date=end_date.isoformat(),
        channels=channel_stats,
        files=files,
        truth_records=truth.rows,
    )
    stats.seconds = round(time.perf_counter() - started, 3)
    stats.seconds_by_phase = {k: round(v, 3) for k, v in phases.items()}
    # Timings vary run to run; keep them out of the stats file so reruns stay byte-identical.
    payload = stats.to_dict()
    payload.pop("seconds")
    payload.pop("seconds_by_phase")
    (truth_dir / STATS_FILE).write_text(
        json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return stats


def _empty_batch() -> Batch:
    import pyarrow as pa

    return Batch(
        columns={},
        person=np.zeros(0, np.int32),
        record_id=pa.array([], pa.string()),
        in_truth=np.zeros(0, bool),
    )
