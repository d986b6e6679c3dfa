"""Load one channel's landing files into ``raw.<channel>``, quarantining bad rows, auditing every file.

``load_channel(settings, channel, as_of_date, run_id)`` follows docs/architecture.md, "Raw layer":

1. find every file under ``<landing>/<channel>/<date ≤ as_of_date>/`` (``discovery.py``);
2. checksum it (SHA-256, streamed) and compare with the manifest: the same file with the same checksum is
   'unchanged'; a checksum already loaded under another name is 'skipped_duplicate'; the same name with a
   new checksum replaces the rows (and quarantine rows) it loaded before;
3. read it in batches (``landing.readers``), check every row in DuckDB (``checks.py``), append good rows
   to ``raw.<channel>`` with lineage and bad ones to ``audit.quarantine``;
4. write the manifest row. Steps 3-4 (and the replacement in 2) commit whole files only: files are written
   a group per transaction (``file_group.py``), so a run killed mid-group leaves nothing of the group's
   files behind, and the per-file cost of a statement set and a commit is paid once per group.

Steps 2 and the reading of 3 run in a background thread, in file order, ahead of the writing.
A file that cannot be read at all is refused (recorded as 'failed' with a named reason that quotes none of
its content) and the next file goes on: whatever the reader raises on a file, short of a permission or
disk error (``OSError``, which propagates: files read but not yet committed are then not loaded, the next
run loads them), refuses that file only. A file larger than ``ingest_max_file_bytes`` is refused unread.
Every other file under the channel's folder is recorded as 'ignored' with the reason (``discovery.py``);
the first channel's ingest also records the files outside every channel folder.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from datetime import date

from customer360.ingest.checks import CheckWindow
from customer360.ingest.discovery import (
    IgnoredFile,
    LandingFileRef,
    discover_files,
    discover_strays,
    file_checksum,
)
from customer360.ingest.file_group import FileGroupWriter, FileInLoad
from customer360.ingest.manifest import ManifestState
from customer360.ingest.read_ahead import read_ahead
from customer360.ingest.results import (
    FAILED,
    IGNORED,
    LOADED,
    SKIPPED_DUPLICATE,
    UNCHANGED,
    ChannelLoadResult,
    FileLoadResult,
)
from customer360.ingest.schema import ensure_tables
from customer360.landing.contract import CHANNELS
from customer360.landing.mapping import ChannelConfig, load_channel_config
from customer360.landing.readers import (
    DEFAULT_BATCH_ROWS,
    ReadError,
    ReadLimits,
    SourceBatch,
    json_engine,
    open_landing_file,
)
from customer360.privacy.suppression import Suppression
from customer360.settings import Settings
from customer360.warehouse import after_ingest, connect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Decided:
    """A file that is not read: unchanged since its last load, or a duplicate of another file."""

    file: FileInLoad


@dataclass(frozen=True)
class _Batch:
    file: FileInLoad
    batch: SourceBatch


@dataclass(frozen=True)
class _Read:
    """The reader reached the file's end; ``file.drift``, ``notes`` and ``encoding`` are set."""

    file: FileInLoad


@dataclass(frozen=True)
class _Failed:
    file: FileInLoad
    message: str


_Event = _Decided | _Batch | _Read | _Failed


def _decide(ref: LandingFileRef, state: ManifestState, max_file_bytes: int) -> FileInLoad:
    """Checksum ``ref`` and decide from the manifest whether it is read (status LOADED) or not."""
    size = ref.path.stat().st_size
    if size > max_file_bytes:
        result = FileLoadResult(ref.source_file, ref.load_date, FAILED, file_bytes=size)
        result.message = (
            f"{ref.source_file}: refused: the file has {size} bytes, more than the limit "
            f"ingest_max_file_bytes ({max_file_bytes}); not read"
        )
        return FileInLoad(ref, result)
    sha, size = file_checksum(ref.path)
    file = FileInLoad(
        ref, FileLoadResult(ref.source_file, ref.load_date, LOADED, file_sha256=sha, file_bytes=size)
    )
    previous = state.sha_of(ref.source_file)
    original = None if previous == sha else state.duplicate_of(sha, ref.source_file)
    if previous == sha:
        file.result.status = UNCHANGED
        file.result.message = "already loaded with the same checksum"
    elif original is not None:
        file.result.status = SKIPPED_DUPLICATE
        file.result.message = (
            f"same content (SHA-256) as {original}, delivered and loaded before; not loaded (a copy of a "
            "delivery never replaces a later correction)"
        )
    else:
        file.replaces = previous is not None
    return file


def _ignored(item: IgnoredFile, as_of_date: date) -> FileInLoad:
    """An ignored file's manifest row: never opened, so no checksum; dated by its folder or the run."""
    ref = LandingFileRef(item.path, item.source_file, item.load_date or as_of_date)
    result = FileLoadResult(item.source_file, ref.load_date, IGNORED, message=f"ignored: {item.reason}")
    return FileInLoad(ref, result)


def _refusal(ref: LandingFileRef, exc: Exception) -> str:
    """A refused file's message: the reader's reason, or for an unexpected error its type only (the text
    of an arbitrary exception may quote the file's content)."""
    if isinstance(exc, ReadError):
        message = str(exc)
    else:  # where it failed, for a developer; the frames hold code, never the exception's text
        log.debug(
            "reader error %s on %s at:\n%s",
            type(exc).__name__,
            ref.source_file,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        message = (
            f"refused: the reader could not read the file ({type(exc).__name__}); "
            "the other files of the channel were loaded"
        )
    return message if message.startswith(ref.source_file) else f"{ref.source_file}: {message}"


def _read_files(
    refs: list[LandingFileRef],
    config: ChannelConfig,
    state: ManifestState,
    batch_rows: int,
    limits: ReadLimits,
    max_file_bytes: int,
) -> Iterator[_Event]:
    """Decide and read every file in order (in the background thread); ``state`` learns what is read."""
    with ExitStack() as stack:
        engine = stack.enter_context(json_engine()) if config.channel.format == "jsonl" else None
        for ref in refs:
            started = time.perf_counter()
            file = _decide(ref, state, max_file_bytes)
            if file.result.status == FAILED:
                yield _Failed(file, file.result.message)
                continue
            if file.result.status != LOADED:
                file.read_seconds = time.perf_counter() - started
                yield _Decided(file)
                continue
            records = 0
            try:
                with open_landing_file(
                    ref.path, config, ref.source_file, batch_rows, engine, limits
                ) as landing:
                    for batch in landing.batches:
                        records += batch.records
                        file.read_seconds += time.perf_counter() - started
                        yield _Batch(file, batch)
                        started = time.perf_counter()
                    file.drift, file.notes = list(landing.drift), list(landing.notes)
                    file.encoding = landing.encoding
            except OSError:
                raise
            except Exception as exc:  # noqa: BLE001 - any reader error refuses this file only
                file.read_seconds += time.perf_counter() - started
                yield _Failed(file, _refusal(ref, exc))
                continue
            state.mark_loaded(ref.source_file, file.result.file_sha256 or "", records)
            file.read_seconds += time.perf_counter() - started
            yield _Read(file)


def load_channel(
    settings: Settings,
    channel: str,
    as_of_date: date,
    run_id: str,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> ChannelLoadResult:
    """Ingest every not-yet-loaded landing file of ``channel`` dated on or before ``as_of_date``.

    Opens the warehouse once (``customer360.warehouse.connect``) and closes it at the end. Files are
    written in groups of about ``batch_rows`` rows, one transaction each. Raises ``KeyError`` for an
    unknown channel, ``ChannelConfigError`` for a malformed channels.yml, and ``OSError`` for permission
    or disk problems; unreadable files are reported in ``result.failures``.
    """
    started = time.perf_counter()
    config = load_channel_config(settings, channel)
    assert settings.landing_root is not None
    found = discover_files(settings.landing_root, config.channel, as_of_date)
    if channel == next(iter(CHANNELS)):
        found.ignored.extend(discover_strays(settings.landing_root, list(CHANNELS)))
    files = found.files
    limits = ReadLimits.from_settings(settings)
    result = ChannelLoadResult(channel, as_of_date, run_id)
    window = CheckWindow(as_of_date, settings.late_arrival_days, config.timezone)
    with connect(settings) as con:
        con.execute("set enable_progress_bar = false")
        ensure_tables(con, config.channel)
        state = ManifestState.load(con, channel)
        suppression = Suppression.load(con, settings.pseudonym_salt)
        writer = FileGroupWriter(con, config, window, run_id, batch_rows, suppression)
        try:
            # The reader runs up to one group's rows ahead of the writer (about two groups in memory).
            for item in found.ignored:
                _take(writer, _Decided(_ignored(item, as_of_date)), result)
            reading = _read_files(files, config, state, batch_rows, limits, settings.ingest_max_file_bytes)
            events = read_ahead(reading, batch_rows, _rows)
            with closing(events):
                for event in events:
                    _take(writer, event, result)
            writer.flush()
        except BaseException:
            writer.abort()
            raise
        after_ingest(settings, con, config.name)  # PostgreSQL target: push the files loaded or replaced
    result.seconds = time.perf_counter() - started
    log.info(result.summary())
    return result


def _rows(event: _Event) -> int:
    return event.batch.table.num_rows if isinstance(event, _Batch) else 1


def _take(writer: FileGroupWriter, event: _Event, result: ChannelLoadResult) -> None:
    """Hand one reader event to the writer; files enter ``result`` in discovery order."""
    if not result.files or result.files[-1] is not event.file.result:
        result.files.append(event.file.result)
    match event:
        case _Decided(file):
            writer.add_decided(file)
        case _Batch(file, batch):
            writer.add_batch(file, batch)
        case _Read(file):
            writer.add_read(file)
            result.drift.extend(file.drift)
        case _Failed(file, message):
            writer.add_failed(file, message)
