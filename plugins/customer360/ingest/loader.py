"""Load one channel's landing files into ``raw.<channel>``, quarantining bad rows, auditing every file.

``load_channel(settings, channel, as_of_date, run_id)`` follows docs/architecture.md, "Raw layer":

1. find every file under ``<landing>/<channel>/<date ≤ as_of_date>/`` (``discovery.py``);
2. checksum it (SHA-256, streamed) and compare with the manifest: the same file with the same checksum is
   'unchanged'; a checksum already loaded under another name is 'skipped_duplicate'; the same name with a
   new checksum replaces the rows (and quarantine rows) it loaded before;
3. read it in batches (``landing.readers``), check every row in DuckDB (``checks.py``), append good rows
   to ``raw.<channel>`` with lineage and bad ones to ``audit.quarantine``;
4. write the manifest row. Steps 3-4 (and the replacement in 2) are one transaction per file: a run
   killed mid-file leaves nothing of that file behind.

A file that cannot be read at all is recorded as 'failed' and the next file goes on; permission and
disk errors propagate.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, TypeVar

import pyarrow.compute as pc

from customer360.faults import fault_point
from customer360.ingest.checks import (
    CheckWindow,
    parsed_columns_sql,
    record_hash_sql,
    record_json_sql,
    row_problems_sql,
)
from customer360.ingest.discovery import LandingFileRef, discover_files, file_checksum
from customer360.ingest.manifest import ManifestState, record_file
from customer360.ingest.quarantine import quarantine_failed_rows_sql, quarantine_rejects
from customer360.ingest.results import (
    FAILED,
    LOADED,
    SKIPPED_DUPLICATE,
    UNCHANGED,
    ChannelLoadResult,
    FileLoadResult,
)
from customer360.ingest.schema import QUARANTINE_TABLE, ensure_tables, raw_data_columns, raw_table
from customer360.landing.mapping import ChannelConfig, load_channel_config
from customer360.landing.readers import (
    DEFAULT_BATCH_ROWS,
    ITEM_INDEX,
    RAW_RECORD,
    SOURCE_LINE,
    ReadError,
    SourceBatch,
    open_landing_file,
)
from customer360.privacy.suppression import Suppression
from customer360.settings import Settings
from customer360.warehouse import after_ingest, connect

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# Batches read ahead in a background thread while DuckDB checks and inserts the previous one.
PREFETCH_BATCHES = 2
_T = TypeVar("_T")


def prefetched(items: Iterator[_T], depth: int = PREFETCH_BATCHES) -> Iterator[_T]:
    """Iterate ``items`` in a background thread, ``depth`` items ahead; errors are re-raised here.

    Reading (Python csv, decoding) holds the GIL while DuckDB releases it, so on two cores the next batch
    is read while the current one is loaded. Close the generator (``contextlib.closing``) to stop early.
    """
    if depth <= 0:
        yield from items
        return
    slots: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((False, item)):
                    return
            put((True, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((True, exc))

    thread = threading.Thread(target=produce, name="customer360-ingest-reader", daemon=True)
    thread.start()
    try:
        while True:
            finished, value = slots.get()
            if finished:
                if isinstance(value, BaseException):
                    raise value
                return
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def _bind(sql: str, params: dict[str, object]) -> dict[str, object]:
    """The subset of ``params`` that ``sql`` uses (DuckDB rejects unused named parameters)."""
    return {name: params[name] for name in set(_PARAM.findall(sql))}


@dataclass(frozen=True)
class _FileSql:
    """The statements that check one batch (``_ingest_batch``) and move its rows.

    Only the problems are materialised (``_ingest_bad``: one row per failing record); good rows go from
    the Arrow batch straight into raw with an anti join, so a clean batch is scanned twice and copied once.
    """

    find_bad: str
    insert_raw: str
    quarantine: str

    @classmethod
    def build(cls, config: ChannelConfig, window: CheckWindow) -> _FileSql:
        channel = config.channel
        nested = channel.unnest is not None
        problems = row_problems_sql(config, window)
        parsed = ", ".join(["*", *parsed_columns_sql(config)])
        per_row = (
            f"select _source_line, {ITEM_INDEX if nested else '0'} as _item_index, "
            f"{problems.reason} as _reason, "
            f"{problems.column} as _column from (select {parsed} from _ingest_batch)"
        )
        find_bad = (
            "create or replace temp table _ingest_bad as "
            "select _source_line, string_agg(_reason, '; ' order by _item_index) as _reason, "
            f"arg_min(_column, _item_index) as _column from ({per_row}) "
            "where _reason <> '' group by _source_line"
        )
        order = f"_source_line, {ITEM_INDEX}" if nested else "_source_line"
        data = ", ".join(f'"{c}"' for c in raw_data_columns(channel))
        insert_raw = (
            f"insert into {raw_table(channel)} ({data}, "
            "_load_date, _source_file, _source_line, _file_sha256, "
            "_record_hash, _ingest_run_id) "
            f"select {data}, cast($load_date as date), $source_file, _source_line, $sha, "
            f"{record_hash_sql(config)}, $run_id "
            f"from _ingest_batch anti join _ingest_bad using (_source_line) order by {order}"
        )
        raw_record = RAW_RECORD if nested else record_json_sql(config)
        first_row = f"{ITEM_INDEX} <= 1" if nested else ""
        return cls(find_bad, insert_raw, quarantine_failed_rows_sql(raw_record, first_row))


def _load_batch(
    con: duckdb.DuckDBPyConnection, sql: _FileSql, batch: SourceBatch, params: dict[str, object]
) -> tuple[int, int]:
    """Check one batch and move its rows; returns (records loaded, records quarantined)."""
    quarantined = quarantine_rejects(con, batch.rejects, params)
    table = batch.table
    if table.num_rows == 0:
        return 0, quarantined
    records = table.num_rows
    if ITEM_INDEX in table.column_names:
        records = pc.count_distinct(table.column(SOURCE_LINE)).as_py()
    # On an error the caller rolls back; the registration is replaced by the next file's first batch.
    con.register("_ingest_batch", table)
    con.execute(sql.find_bad, _bind(sql.find_bad, params))
    (bad,) = con.execute("select count(*) from _ingest_bad").fetchall()[0]
    con.execute(sql.insert_raw, _bind(sql.insert_raw, params))
    if bad:
        con.execute(sql.quarantine, _bind(sql.quarantine, params))
    con.unregister("_ingest_batch")
    return records - int(bad), quarantined + int(bad)


def _delete_previous(con: duckdb.DuckDBPyConnection, config: ChannelConfig, source_file: str) -> None:
    con.execute(f"delete from {raw_table(config.channel)} where _source_file = ?", [source_file])
    con.execute(
        f"delete from {QUARANTINE_TABLE} where channel = ? and source_file = ?", [config.name, source_file]
    )


def _read_into_warehouse(
    con: duckdb.DuckDBPyConnection,
    config: ChannelConfig,
    ref: LandingFileRef,
    result: FileLoadResult,
    window: CheckWindow,
    run_id: str,
    batch_rows: int,
) -> list[str]:
    """Read, check and load one file (inside the caller's transaction); fills the counts, returns drift."""
    sql = _FileSql.build(config, window)
    params: dict[str, object] = {
        **window.params(),
        "run_id": run_id,
        "channel": config.name,
        "load_date": ref.load_date.isoformat(),
        "source_file": ref.source_file,
        "sha": result.file_sha256,
        "now": datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" "),
    }
    with (
        open_landing_file(ref.path, config, ref.source_file, batch_rows) as landing,
        closing(prefetched(landing.batches)) as batches,
    ):
        for batch in batches:
            loaded, quarantined = _load_batch(con, sql, batch, params)
            result.rows_read += batch.records
            result.rows_loaded += loaded
            result.rows_quarantined += quarantined
        drift, notes = list(landing.drift), list(landing.notes)
        encoding = landing.encoding
    if not result.reconciles:  # a bug, not a data problem: never commit counts that do not add up
        raise RuntimeError(
            f"{ref.source_file}: rows read {result.rows_read} != loaded {result.rows_loaded} + quarantined "
            f"{result.rows_quarantined}; the load was rolled back"
        )
    parts = [
        f"loaded {result.rows_loaded} of {result.rows_read} record(s), {result.rows_quarantined} quarantined"
    ]
    if encoding is not None and encoding.detected and encoding.encoding not in ("utf-8", "utf-8-sig"):
        parts.append(f"encoding {encoding.encoding} ({encoding.reason})")
    parts.extend(notes)
    if drift:
        parts.append(f"schema drift: {len(drift)} note(s), e.g. {drift[0]}")
    result.message = "; ".join(parts)
    return drift


def _load_file(
    con: duckdb.DuckDBPyConnection,
    config: ChannelConfig,
    ref: LandingFileRef,
    state: ManifestState,
    window: CheckWindow,
    run_id: str,
    batch_rows: int,
    suppression: Suppression | None = None,
) -> tuple[FileLoadResult, list[str]]:
    started = time.perf_counter()
    sha, size = file_checksum(ref.path)
    result = FileLoadResult(ref.source_file, ref.load_date, LOADED, file_sha256=sha, file_bytes=size)
    drift: list[str] = []
    previous = state.sha_of(ref.source_file)
    original = None if previous == sha else state.duplicate_of(sha, ref.source_file)
    if previous == sha:
        result.status = UNCHANGED
        result.message = "already loaded with the same checksum"
    elif original is not None:
        result.status = SKIPPED_DUPLICATE
        result.message = f"same content (SHA-256) as {original}, already loaded; not loaded again"
    else:
        con.begin()
        try:
            if previous is not None:
                _delete_previous(con, config, ref.source_file)
            drift = _read_into_warehouse(con, config, ref, result, window, run_id, batch_rows)
            if suppression is not None:  # erased persons' records do not come back (customer360.privacy)
                suppression.apply(con, config.channel, ref, result, run_id)
            fault_point("ingest.before_commit")
            if previous is not None:
                result.message = f"file changed since its last load: its rows were replaced; {result.message}"
            result.seconds = time.perf_counter() - started
            record_file(con, config.name, run_id, result)
            con.commit()
        except ReadError as exc:
            con.rollback()
            message = str(exc)
            if not message.startswith(ref.source_file):
                message = f"{ref.source_file}: {message}"
            result = FileLoadResult(
                ref.source_file, ref.load_date, FAILED, file_sha256=sha, file_bytes=size, message=message
            )
        except BaseException:
            con.rollback()
            raise
        else:
            state.mark_loaded(ref.source_file, sha, result.rows_read)
    if result.status != LOADED:
        result.seconds = time.perf_counter() - started
        record_file(con, config.name, run_id, result)
    log_level = logging.WARNING if result.status == FAILED else logging.INFO
    log.log(log_level, "%s [%s] %s (%.2fs)", ref.source_file, result.status, result.message, result.seconds)
    return result, drift


def load_channel(
    settings: Settings,
    channel: str,
    as_of_date: date,
    run_id: str,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> ChannelLoadResult:
    """Ingest every not-yet-loaded landing file of ``channel`` dated on or before ``as_of_date``.

    Opens the warehouse once (``customer360.warehouse.connect``) and closes it at the end. Raises
    ``KeyError`` for an unknown channel, ``ChannelConfigError`` for a malformed channels.yml, and
    ``OSError`` for permission or disk problems; unreadable files are reported in ``result.failures``.
    """
    started = time.perf_counter()
    config = load_channel_config(settings, channel)
    assert settings.landing_root is not None
    files = discover_files(settings.landing_root, config.channel, as_of_date)
    result = ChannelLoadResult(channel, as_of_date, run_id)
    with connect(settings) as con:
        con.execute("set enable_progress_bar = false")
        ensure_tables(con, config.channel)
        state = ManifestState.load(con, channel)
        suppression = Suppression.load(con, settings.pseudonym_salt)
        for ref in files:
            window = CheckWindow(as_of_date, ref.load_date, settings.late_arrival_days, config.timezone)
            file_result, drift = _load_file(con, config, ref, state, window, run_id, batch_rows, suppression)
            result.files.append(file_result)
            result.drift.extend(drift)
        after_ingest(settings, con, config.name)  # PostgreSQL target: push the files loaded or replaced
    result.seconds = time.perf_counter() - started
    log.info(result.summary())
    return result
