"""Read-only SQL over the published snapshot, and its output as a table, CSV or JSON.

The guard is DuckDB's own configuration, not a parser: every connection made here opens the snapshot with
``read_only=True``, so ``insert``/``create``/``drop`` fail in DuckDB with its own message, and with
``enable_external_access=false``, so nothing reaches the file system or the network either (``COPY ... TO``,
``EXPORT DATABASE``, ``ATTACH``, ``read_csv``, ``INSTALL`` fail), while any query of the marts, however
written, runs. External access cannot be turned back on in a running database. Results stream in Arrow
batches; only the text table keeps a bounded number of rows.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from customer360.publish.snapshot import SNAPSHOT_DB, current_database
from customer360.settings import Settings, get_settings
from customer360.warehouse import duckdb_config

FETCH_BATCH_ROWS = 10_000  # rows per Arrow batch pulled from DuckDB
DEFAULT_TABLE_MAX_ROWS = 500  # rows the text table shows; csv and json write every row
TABLE_MAX_CELL_CHARS = 60  # a longer value is cut with "…" in the text table
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection): prefix it with "'".
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What every analyst connection is opened with: DuckDB's read-only mode, and no access to files or network.
READ_ONLY_CONFIG = {"access_mode": "read_only", "enable_external_access": "false"}
READ_ONLY_URL_QUERY = "&".join(f"{key}={value}" for key, value in READ_ONLY_CONFIG.items())


class SnapshotNotFoundError(FileNotFoundError):
    """No published snapshot where one was expected; the message says where and what to do."""


def snapshot_database(settings: Settings | None = None, snapshot: Path | None = None) -> Path:
    """The snapshot database to read: ``snapshot`` (a ``marts.duckdb`` file or its folder) or the current one.

    The current one is addressed through the ``current`` symlink (not resolved), so a new connection always
    reads the newest snapshot.
    """
    if snapshot is not None:
        database = snapshot / SNAPSHOT_DB if snapshot.is_dir() else snapshot
        if not database.is_file():
            raise SnapshotNotFoundError(
                f"no snapshot database at {database}: pass a marts.duckdb file or the snapshot folder "
                "holding one"
            )
        return database.absolute()
    s = settings or get_settings()
    database = current_database(s)
    if not database.is_file():
        raise SnapshotNotFoundError(
            f"no published snapshot yet: {database} does not exist. A pipeline run publishes the marts at "
            "its end: run `customer360 run` (or `make run`) first, or name a snapshot with --snapshot PATH."
        )
    return database.absolute()


def connect_snapshot(settings: Settings | None = None, snapshot: Path | None = None) -> Any:
    """A read-only DuckDB connection to the published snapshot (marts are tables in ``main``) that cannot
    read or write other files (``enable_external_access=false``).

    >>> con = connect_snapshot()
    >>> con.execute("select count(*) from dim_customers").fetchone()
    """
    import duckdb

    s = settings or get_settings()
    database = snapshot_database(s, snapshot)
    con = duckdb.connect(
        str(database),
        read_only=True,
        config=duckdb_config(s, enable_external_access=False),
    )
    con.execute("set enable_progress_bar = false")  # it would mix with rows written to standard output
    return con


def sqlalchemy_url(settings: Settings | None = None, snapshot: Path | None = None) -> str:
    """The SQLAlchemy URL (duckdb-engine) of the snapshot, read-only: what Superset or Metabase are given.

    ``duckdb:////abs/path/marts.duckdb?access_mode=read_only&enable_external_access=false``; duckdb-engine
    passes the query parameters to DuckDB as settings when it connects. The snapshot need not exist yet.
    """
    if snapshot is not None:
        database = (snapshot / SNAPSHOT_DB if snapshot.is_dir() else snapshot).absolute()
    else:
        database = current_database(settings or get_settings()).absolute()
    return f"duckdb:///{database.as_posix()}?{READ_ONLY_URL_QUERY}"


# --- results --------------------------------------------------------------------------------------------


def result_batches(relation: Any) -> Iterator[list[tuple[Any, ...]]]:
    """A query's rows, a batch of Python tuples at a time (from Arrow record batches)."""
    for batch in relation.to_arrow_reader(FETCH_BATCH_ROWS):
        columns = [column.to_pylist() for column in batch.columns]
        yield list(zip(*columns, strict=True))


def spreadsheet_safe(value: Any) -> Any:
    """A text value a spreadsheet would run as a formula, prefixed with a single quote; others unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return spreadsheet_safe(value)


def write_csv(names: list[str], batches: Iterator[list[tuple[Any, ...]]], out: IO[str]) -> int:
    """Write a header and every row as CSV, safe to open in a spreadsheet. Returns the row count."""
    # RFC 4180 line ends: a value holding a CR or LF is then quoted, so no row can be split or forged
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(n) for n in names])
    count = 0
    for rows in batches:
        writer.writerows([_csv_cell(v) for v in row] for row in rows)
        count += len(rows)
    return count


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or Infinity
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)  # UUID and other scalar types


def write_json(names: list[str], batches: Iterator[list[tuple[Any, ...]]], out: IO[str]) -> int:
    """Write a JSON array of objects, one per row, streamed. Returns the row count."""
    count = 0
    out.write("[")
    for rows in batches:
        for row in rows:
            out.write(",\n" if count else "\n")
            record = {name: _json_value(value) for name, value in zip(names, row, strict=True)}
            out.write(json.dumps(record, ensure_ascii=False, allow_nan=False))
            count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def _table_cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= TABLE_MAX_CELL_CHARS else text[: TABLE_MAX_CELL_CHARS - 1] + "…"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def write_table(
    names: list[str],
    batches: Iterator[list[tuple[Any, ...]]],
    out: IO[str],
    max_rows: int = DEFAULT_TABLE_MAX_ROWS,
) -> int:
    """Write an aligned text table of at most ``max_rows`` rows and a row count. Returns the row count."""
    shown: list[tuple[Any, ...]] = []
    total = 0
    for rows in batches:
        if len(shown) < max_rows:
            shown.extend(rows[: max_rows - len(shown)])
        total += len(rows)
    cells = [[_table_cell(v) for v in row] for row in shown]
    numeric = [any(_is_number(row[i]) for row in shown) for i in range(len(names))]
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]

    def line(values: list[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return " | ".join(parts).rstrip()

    out.write(line(list(names)) + "\n")
    out.write("-+-".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row) + "\n")
    if total > len(shown):
        out.write(f"({total:,} rows, first {len(shown):,} shown; --format csv or json writes them all)\n")
    else:
        out.write(f"({total:,} row{'' if total == 1 else 's'})\n")
    return total


WRITERS = {"table": write_table, "csv": write_csv, "json": write_json}


def run_query(con: Any, query: str, out: IO[str], output_format: str = "table", **options: Any) -> int | None:
    """Run ``query`` on ``con`` and write its result to ``out``. Returns the row count (None: no result set).

    Several statements separated by ``;`` run in order; the last one's result is written.
    """
    if output_format not in WRITERS:
        raise ValueError(f"unknown format {output_format!r}; use one of: {', '.join(WRITERS)}")
    relation = con.sql(query)
    if relation is None:
        return None
    return WRITERS[output_format](list(relation.columns), result_batches(relation), out, **options)
