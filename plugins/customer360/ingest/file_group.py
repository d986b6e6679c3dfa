"""Write read landing files to the warehouse a group at a time: one transaction, one set of statements.

Writing one file costs a check statement, an insert into raw, a manifest row and a commit whatever its size
(which dominates a first run over a year of small daily files per channel). ``FileGroupWriter``
collects files that have been read in full (``FileInLoad``) until their rows reach a budget, then in one
transaction: deletes the earlier rows of files whose content changed, quarantines the records the reader
rejected, checks every row of every file in one statement (``GroupSql``), moves good rows to
``raw.<channel>`` and bad ones to ``audit.quarantine``, suppresses erased persons, appends every manifest
row of the group (also of files found unchanged, duplicate or unreadable) and commits.

Each file still loads whole or not at all: a file is only added to a group once it was read to its end, a
file the reader fails on never reaches a group (it is recorded 'failed'), and a group's rows and manifest
rows commit together, so a kill before the commit leaves none of the group's files, which the next run
loads (the manifest does not list them). A file larger than one read batch is not held in memory: the
group so far is committed and the file is written alone, batch by batch, in its own transaction, rolled
back if the reader fails on it midway.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360.faults import fault_point
from customer360.ingest.checks import (
    LATE_BOUND,
    LOAD_DATE,
    CheckWindow,
    parsed_columns_sql,
    record_hash_sql,
    record_json_sql,
    row_problems_sql,
)
from customer360.ingest.discovery import LandingFileRef
from customer360.ingest.manifest import record_files
from customer360.ingest.quarantine import quarantine_failed_rows_sql, quarantine_rejects
from customer360.ingest.relations import BAD, BATCH, FILE_INDEX, FILES
from customer360.ingest.results import FAILED, IGNORED, LOADED, FileLoadResult
from customer360.ingest.schema import QUARANTINE_TABLE, raw_data_columns, raw_table
from customer360.landing.encoding import EncodingChoice
from customer360.landing.mapping import ChannelConfig
from customer360.landing.readers import ITEM_INDEX, RAW_RECORD, SOURCE_LINE, SourceBatch
from customer360.privacy.suppression import SUPPRESSION_TABLE, Suppression, match_predicate_sql

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def _bind(sql: str, params: dict[str, object]) -> dict[str, object]:
    """The subset of ``params`` that ``sql`` uses (DuckDB rejects unused named parameters)."""
    return {name: params[name] for name in set(_PARAM.findall(sql))}


@dataclass(eq=False)
class FileInLoad:
    """One landing file on its way to the warehouse: its result so far and, once read, its batches."""

    ref: LandingFileRef
    result: FileLoadResult
    replaces: bool = False  # another content of this file was loaded before: its rows are replaced
    batches: list[SourceBatch] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    encoding: EncodingChoice | None = None
    read_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(batch.table.num_rows for batch in self.batches)

    def fail(self, message: str) -> None:
        """The reader could not read the file: nothing of it is loaded."""
        self.batches.clear()
        self.result.status = FAILED
        self.result.rows_read = self.result.rows_loaded = self.result.rows_quarantined = 0
        self.result.message = message


@dataclass(frozen=True)
class GroupSql:
    """The statements that check the rows of ``BATCH`` (from the files in ``FILES``) and move them.

    Only the problems are materialised (``BAD``: one row per failing record); good rows go from the Arrow
    batch straight into raw with an anti join, so a clean batch is scanned twice and copied once.
    """

    find_bad: str
    count_bad: str
    insert_raw: str
    quarantine: str

    @classmethod
    def build(cls, config: ChannelConfig, window: CheckWindow) -> GroupSql:
        channel = config.channel
        nested = channel.unnest is not None
        problems = row_problems_sql(config, window)
        parsed = ", ".join(["*", *parsed_columns_sql(config)])
        per_row = (
            f"select {FILE_INDEX}, _source_line, {ITEM_INDEX if nested else '0'} as _item_index, "
            f"{problems.reason} as _reason, {problems.column} as _column "
            f"from (select {parsed} from {BATCH} join {FILES} using ({FILE_INDEX}))"
        )
        find_bad = (
            f"create or replace temp table {BAD} as "
            f"select {FILE_INDEX}, _source_line, string_agg(_reason, '; ' order by _item_index) as _reason, "
            f"arg_min(_column, _item_index) as _column from ({per_row}) "
            f"where _reason <> '' group by {FILE_INDEX}, _source_line"
        )
        count_bad = f"select {FILE_INDEX}, count(*) from {BAD} group by {FILE_INDEX}"
        order = f"{FILE_INDEX}, _source_line" + (f", {ITEM_INDEX}" if nested else "")
        data = ", ".join(f'"{c}"' for c in raw_data_columns(channel))
        insert_raw = (
            f"insert into {raw_table(channel)} ({data}, "
            "_load_date, _source_file, _source_line, _file_sha256, _record_hash, _ingest_run_id) "
            f"select {data}, {LOAD_DATE}, _source_file, _source_line, _file_sha256, "
            f"{record_hash_sql(config)}, $run_id "
            f"from {BATCH} join {FILES} using ({FILE_INDEX}) "
            f"anti join {BAD} using ({FILE_INDEX}, _source_line) "
            f"order by {order}"
        )
        raw_record = RAW_RECORD if nested else record_json_sql(config)
        first_row = f"{ITEM_INDEX} <= 1" if nested else ""
        return cls(find_bad, count_bad, insert_raw, quarantine_failed_rows_sql(raw_record, first_row))


def _records_with_rows(table: pa.Table) -> int:
    """Records in a reader batch's table: rows, or distinct lines when a record spans rows (nested arrays)."""
    if ITEM_INDEX in table.column_names:
        return int(pc.count_distinct(table.column(SOURCE_LINE)).as_py())
    return table.num_rows


class FileGroupWriter:
    """Writes the files of one channel's run, a group per transaction (see the module docstring).

    Feed it every file in discovery order: ``add_decided`` (unchanged, duplicate: a manifest row only),
    ``add_batch`` for each batch the reader yields, then ``add_read`` or ``add_failed``; finally ``flush``.
    On an exception call ``abort``: it rolls back the transaction in flight, so nothing uncommitted stays.
    Manifest rows are written in the order the files were added.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        config: ChannelConfig,
        window: CheckWindow,
        run_id: str,
        row_budget: int,
        suppression: Suppression | None = None,
    ) -> None:
        self.con = con
        self.config = config
        self.window = window
        self.run_id = run_id
        self.row_budget = max(1, row_budget)
        self.suppression = suppression
        self.sql = GroupSql.build(config, window)
        self._complete: list[FileInLoad] = []  # read in full, held until the group is written
        self._recorded: list[FileInLoad] = []  # every file whose manifest row goes with the next commit
        self._complete_rows = 0
        self._streaming: FileInLoad | None = None
        self._in_transaction = False

    # --- feeding ---------------------------------------------------------------------------------

    def add_decided(self, file: FileInLoad) -> None:
        """A file that is not read (unchanged, or a duplicate): only its manifest row is written."""
        self._recorded.append(file)

    def add_batch(self, file: FileInLoad, batch: SourceBatch) -> None:
        if file is self._streaming:
            self._write([file], [(0, batch)])
            return
        file.batches.append(batch)
        if len(file.batches) > 1:  # more than one read batch: written alone, not held in memory
            self.flush()
            self._begin([file])
            self._streaming = file
            batches, file.batches = file.batches, []
            self._write([file], [(0, b) for b in batches])

    def add_read(self, file: FileInLoad) -> None:
        """The reader reached the end of ``file`` without an error."""
        if file is self._streaming:
            self._recorded.append(file)
            self._finish([file])
            self._commit([file])
            self._streaming = None
            return
        self._complete.append(file)
        self._recorded.append(file)
        self._complete_rows += file.rows
        if self._complete_rows >= self.row_budget:
            self.flush()

    def add_failed(self, file: FileInLoad, message: str) -> None:
        """The reader failed on ``file``: nothing of it stays, its manifest row says why."""
        if file is self._streaming:
            self._rollback()
            self._streaming = None
        file.fail(message)
        self._recorded.append(file)

    def flush(self) -> None:
        """Write the files collected so far in one transaction and commit."""
        if not self._recorded:
            return
        files = self._complete
        self._begin(files)
        self._write(files, [(i, b) for i, file in enumerate(files) for b in file.batches])
        for file in files:
            file.batches = []
        self._finish(files)
        self._commit(files)

    def abort(self) -> None:
        """After an error: roll back the open transaction, if any; what was not committed is not loaded."""
        if not self._in_transaction:
            return
        try:
            self._rollback()
        except Exception:  # the error being handled says more than a failed rollback
            log.exception("rolling back the ingest transaction after an error failed")

    # --- one transaction -------------------------------------------------------------------------

    def _begin(self, files: list[FileInLoad]) -> None:
        self.con.begin()
        self._in_transaction = True
        self._started = time.perf_counter()
        self.con.register(FILES, self._files_table(files))
        raw = raw_table(self.config.channel)
        for file in files:
            if file.replaces:
                source_file = file.ref.source_file
                self.con.execute(f"delete from {raw} where _source_file = ?", [source_file])
                self.con.execute(
                    f"delete from {QUARANTINE_TABLE} where channel = ? and source_file = ?",
                    [self.config.name, source_file],
                )

    def _files_table(self, files: list[FileInLoad]) -> pa.Table:
        return pa.table(
            {
                FILE_INDEX: pa.array(range(len(files)), pa.int32()),
                "_source_file": pa.array([f.ref.source_file for f in files], pa.string()),
                LOAD_DATE: pa.array([f.ref.load_date for f in files], pa.date32()),
                "_file_sha256": pa.array([f.result.file_sha256 for f in files], pa.string()),
                LATE_BOUND: pa.array(
                    [self.window.late_bound(f.ref.load_date) for f in files], pa.timestamp("us", tz="UTC")
                ),
            }
        )

    def _write(self, files: list[FileInLoad], batches: list[tuple[int, SourceBatch]]) -> None:
        """Check and move ``batches`` (each with its file's index in ``files``); fills the files' counts."""
        params: dict[str, object] = {
            **self.window.params(),
            "run_id": self.run_id,
            "channel": self.config.name,
            "now": datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" "),
        }
        quarantine_rejects(self.con, [(i, r) for i, batch in batches for r in batch.rejects], params)
        tables: list[pa.Table] = []
        for i, batch in batches:
            result = files[i].result
            result.rows_read += batch.records
            result.rows_quarantined += len(batch.rejects)
            if batch.table.num_rows:
                result.rows_loaded += _records_with_rows(batch.table)
                index = pa.array(np.full(batch.table.num_rows, i, dtype=np.int32))
                tables.append(batch.table.append_column(FILE_INDEX, index))
        if not tables:
            return
        sql = self.sql
        self.con.register(BATCH, pa.concat_tables(tables))
        self.con.execute(sql.find_bad, _bind(sql.find_bad, params))
        bad = dict(self.con.execute(sql.count_bad).fetchall())
        self.con.execute(sql.insert_raw, _bind(sql.insert_raw, params))
        if bad:
            self.con.execute(sql.quarantine, _bind(sql.quarantine, params))
        self.con.unregister(BATCH)
        for i, count in bad.items():
            files[i].result.rows_loaded -= int(count)
            files[i].result.rows_quarantined += int(count)

    def _finish(self, files: list[FileInLoad]) -> None:
        """Reconcile the counts, say what happened, and suppress erased persons' records."""
        for file in files:
            result = file.result
            if not result.reconciles:  # a bug, not a data problem: never commit counts that do not add up
                raise RuntimeError(
                    f"{file.ref.source_file}: rows read {result.rows_read} != loaded {result.rows_loaded} + "
                    f"quarantined {result.rows_quarantined}; the load was rolled back"
                )
            result.message = _load_message(file)
        if self.suppression is not None:  # erased persons' records do not come back (customer360.privacy)
            for file in self._files_to_suppress(files):
                self.suppression.apply(self.con, self.config.channel, file.ref, file.result, self.run_id)
        for file in files:
            if file.replaces:
                file.result.message = (
                    f"file changed since its last load: its rows were replaced; {file.result.message}"
                )

    def _files_to_suppress(self, files: list[FileInLoad]) -> list[FileInLoad]:
        """The files with a row matching the suppression list, found with one query for the group."""
        assert self.suppression is not None
        if not files:
            return []
        predicate = match_predicate_sql(self.config.channel, SUPPRESSION_TABLE)
        matched = {
            row[0]
            for row in self.con.execute(
                f"select distinct _source_file from {raw_table(self.config.channel)} "
                f"where _source_file in (select _source_file from {FILES}) and {predicate}",
                {"salt": self.suppression.salt},
            ).fetchall()
        }
        return [file for file in files if file.ref.source_file in matched]

    def _commit(self, files: list[FileInLoad]) -> None:
        recorded = self._recorded
        self.con.unregister(FILES)
        record_files(self.con, self.config.name, self.run_id, [f.result for f in recorded])
        fault_point("ingest.before_commit")
        self.con.commit()
        self._in_transaction = False
        written_seconds = (time.perf_counter() - self._started) / max(1, len(files))
        for file in recorded:
            file.result.seconds = file.read_seconds + (written_seconds if file in files else 0.0)
            level = logging.WARNING if file.result.status in (FAILED, IGNORED) else logging.INFO
            log.log(
                level,
                "%s [%s] %s (%.2fs)",
                file.ref.source_file,
                file.result.status,
                file.result.message,
                file.result.seconds,
            )
        self._complete, self._recorded, self._complete_rows = [], [], 0

    def _rollback(self) -> None:
        self.con.rollback()
        self._in_transaction = False


def _load_message(file: FileInLoad) -> str:
    result = file.result
    assert result.status == LOADED
    parts = [
        f"loaded {result.rows_loaded} of {result.rows_read} record(s), {result.rows_quarantined} quarantined"
    ]
    encoding = file.encoding
    if encoding is not None and encoding.detected and encoding.encoding not in ("utf-8", "utf-8-sig"):
        parts.append(f"encoding {encoding.encoding} ({encoding.reason})")
    parts.extend(file.notes)
    if file.drift:
        parts.append(f"schema drift: {len(file.drift)} note(s), e.g. {file.drift[0]}")
    return "; ".join(parts)
