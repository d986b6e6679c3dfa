"""``audit.quarantine``: rows that did not pass, with file, line, column and a reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from customer360.ingest.relations import BAD, BATCH, FILE_INDEX, FILES, REJECTS
from customer360.ingest.schema import QUARANTINE_TABLE
from customer360.landing.readers import Reject

if TYPE_CHECKING:
    import duckdb

QUARANTINE_COLUMNS = (
    "run_id, channel, load_date, source_file, line_number, column_name, reason, raw_record, quarantined_at"
)


def quarantine_rejects(
    con: duckdb.DuckDBPyConnection, rejects: Sequence[tuple[int, Reject]], params: dict[str, object]
) -> int:
    """Insert records the reader could not parse (raw_record = their text as delivered).

    ``rejects`` pairs each record with its file's ``FILE_INDEX`` in the registered ``FILES``.
    """
    if not rejects:
        return 0
    table = pa.table(
        {
            FILE_INDEX: pa.array([index for index, _ in rejects], pa.int32()),
            "line_number": pa.array([r.line for _, r in rejects], pa.int64()),
            "column_name": pa.array([r.column for _, r in rejects], pa.string()),
            "reason": pa.array([r.reason for _, r in rejects], pa.string()),
            "raw_record": pa.array([r.raw_text for _, r in rejects], pa.string()),
        }
    )
    con.register(REJECTS, table)
    con.execute(
        f"insert into {QUARANTINE_TABLE} ({QUARANTINE_COLUMNS}) "
        "select $run_id, $channel, _load_date, _source_file, line_number, column_name, reason, "
        f"raw_record, cast($now as timestamp) from {REJECTS} join {FILES} using ({FILE_INDEX}) "
        f"order by {FILE_INDEX}, line_number",
        {k: params[k] for k in ("run_id", "channel", "now")},
    )
    con.unregister(REJECTS)
    return len(rejects)


def quarantine_failed_rows_sql(raw_record_sql: str, first_row_condition: str) -> str:
    """SQL moving the records listed in ``BAD`` from ``BATCH`` to the quarantine.

    ``first_row_condition`` picks one row per record when a record spans several rows (nested arrays).
    """
    where = f" where {first_row_condition}" if first_row_condition else ""
    return (
        f"insert into {QUARANTINE_TABLE} ({QUARANTINE_COLUMNS}) "
        "select $run_id, $channel, _load_date, _source_file, _source_line, _column, _reason, "
        f"{raw_record_sql}, cast($now as timestamp) "
        f"from {BATCH} join {BAD} using ({FILE_INDEX}, _source_line) join {FILES} using ({FILE_INDEX})"
        f"{where} order by {FILE_INDEX}, _source_line"
    )
