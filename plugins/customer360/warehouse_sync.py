"""Move tables between DuckDB (the Python stages' compute engine) and PostgreSQL (the warehouse of record).

With ``CUSTOMER360_TARGET=postgres`` dbt and Great Expectations work in PostgreSQL, and the Python stages keep
computing in DuckDB: ``customer360.warehouse`` opens a DuckDB connection for a stage and this module fills it
from PostgreSQL before the stage and writes the stage's output back after it. Rows travel as Arrow record
batches rendered as CSV through ``COPY ... FROM STDIN`` / ``COPY ... TO STDOUT`` (psycopg2), never row by row:

- push (DuckDB -> PostgreSQL): the query's Arrow batches are written as CSV with every non-null value quoted,
  so PostgreSQL reads an unquoted empty field as NULL and ``""`` as the empty string;
- pull (PostgreSQL -> DuckDB): ``COPY (select ...) TO STDOUT (format csv, force_quote *)`` streamed into a
  spooled temporary file, read back as Arrow string batches and cast by DuckDB into a table with the mapped
  types (doubles travel as PostgreSQL's shortest exact text, so they round-trip bit for bit).

Types map one to one where both engines have the type (text, integers, double, decimal(p, s), date,
timestamp, timestamptz, boolean, json, uuid, interval); PostgreSQL ``numeric`` without a precision becomes
DuckDB ``DOUBLE``, and any other PostgreSQL type arrives as its text form. A DuckDB type PostgreSQL cannot
hold (lists, structs, maps, blobs) is an error that names the table and column.

Every write of one stage runs in one PostgreSQL transaction: a failed push leaves PostgreSQL as it was.
"""

from __future__ import annotations

import io
import logging
import re
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from customer360.settings import Settings
from customer360.sql_strings import sql_string
from customer360.warehouse import duckdb_config

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

# Rows per Arrow batch (and per COPY statement) on the way to PostgreSQL.
COPY_BATCH_ROWS = 100_000
# A pulled table is spooled in memory up to this size, then on disk (candidate for Settings).
SPOOL_MAX_BYTES = 64 * 1024 * 1024
# Scratch DuckDB files of the stages live here, beside the local DuckDB cache (candidate for Settings).
SCRATCH_FOLDER = ".scratch"
APPLICATION_NAME = "customer360"

_DUCKDB_TO_PG: dict[str, str] = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "TINYINT": "smallint",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20, 0)",
    "HUGEINT": "numeric(38, 0)",
    "UHUGEINT": "numeric(39, 0)",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIME": "time",
    "BOOLEAN": "boolean",
    "JSON": "json",
    "UUID": "uuid",
    "INTERVAL": "interval",
}
# DuckDB types that travel as text (the Arrow CSV writer has no form for them, PostgreSQL parses the text).
_AS_TEXT = {"JSON", "UUID", "INTERVAL", "HUGEINT", "UHUGEINT", "UBIGINT", "TIME"}

_PG_TO_DUCKDB: dict[str, str] = {
    "text": "VARCHAR",
    "character varying": "VARCHAR",
    "character": "VARCHAR",
    "name": "VARCHAR",
    "citext": "VARCHAR",
    "bigint": "BIGINT",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "double precision": "DOUBLE",
    "real": "FLOAT",
    "date": "DATE",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMPTZ",
    "time without time zone": "TIME",
    "boolean": "BOOLEAN",
    "json": "JSON",
    "jsonb": "JSON",
    "uuid": "UUID",
    "interval": "INTERVAL",
}
_NUMERIC = re.compile(r"^numeric\((\d+),\s*(\d+)\)$")
_TYPMOD = re.compile(r"\(\d+\)")


class WarehouseSyncError(RuntimeError):
    """A table could not be moved between DuckDB and PostgreSQL; the message names it and says why."""


# --- names and types ------------------------------------------------------------------------------------


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(table: str) -> str:
    """``schema.table`` quoted for either engine."""
    schema, _, name = table.partition(".")
    if not name:
        raise ValueError(f"{table!r} is not a schema-qualified table name (schema.table)")
    return f"{quote_identifier(schema)}.{quote_identifier(name)}"


def pg_type(duckdb_type: str, where: str = "") -> str:
    """The PostgreSQL type that holds a DuckDB type's values exactly."""
    kind = duckdb_type.upper().strip()
    if kind in _DUCKDB_TO_PG:
        return _DUCKDB_TO_PG[kind]
    match = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", kind)
    if match:
        return f"numeric({match.group(1)}, {match.group(2)})"
    raise WarehouseSyncError(
        f"{where or 'a column'} has DuckDB type {duckdb_type}, which has no PostgreSQL counterpart here; "
        "cast it to VARCHAR (or a scalar type) in the stage that writes it"
    )


def duckdb_type(postgres_type: str) -> str:
    """The DuckDB type for a PostgreSQL ``format_type`` text; types without a counterpart arrive as text."""
    kind = _TYPMOD.sub("", postgres_type.strip().lower())
    match = _NUMERIC.match(postgres_type.strip().lower())
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        return f"DECIMAL({precision}, {scale})" if precision <= 38 else "DOUBLE"
    if kind == "numeric":
        return "DOUBLE"
    return _PG_TO_DUCKDB.get(kind, "VARCHAR")


def duckdb_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    """``(name, DuckDB type)`` of a table or a ``(select ...)`` relation."""
    return [(row[0], row[1]) for row in con.execute(f"describe {relation}").fetchall()]


def duckdb_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
        [schema],
    ).fetchall()
    return [f"{schema}.{row[0]}" for row in rows]


def duckdb_table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, _, name = table.partition(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


# --- PostgreSQL ---------------------------------------------------------------------------------------


def pg_connect(settings: Settings) -> Any:
    """A psycopg2 connection to ``settings.postgres_url`` (UTC session, one transaction until commit)."""
    import psycopg2

    try:
        connection = psycopg2.connect(settings.postgres_url, application_name=APPLICATION_NAME)
    except psycopg2.OperationalError as exc:
        raise WarehouseSyncError(
            f"cannot connect to the PostgreSQL warehouse {redacted_url(settings.postgres_url)}: "
            f"{str(exc).strip()}; check CUSTOMER360_POSTGRES_URL and that the server is running"
        ) from exc
    with connection.cursor() as cur:
        cur.execute("set time zone 'UTC'")
        cur.execute("set extra_float_digits = 3")  # shortest text that reads back to the same double
    connection.commit()  # the session settings outlive the caller's transactions (SET is transactional)
    return connection


def redacted_url(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def pg_table_exists(cur: Any, table: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", [qualified(table)])
    return bool(cur.fetchone()[0])


def pg_columns(cur: Any, table: str) -> list[tuple[str, str]]:
    """``(name, format_type)`` of a PostgreSQL table or view, in column order (empty when there is none)."""
    if not pg_table_exists(cur, table):
        return []
    cur.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute "
        "where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped order by attnum",
        [qualified(table)],
    )
    return [(row[0], row[1]) for row in cur.fetchall()]


def pg_tables(cur: Any, schema: str) -> list[str]:
    """Tables and views of one PostgreSQL schema, as ``schema.table``."""
    cur.execute(
        "select table_name from information_schema.tables where table_schema = %s order by table_name",
        [schema],
    )
    return [f"{schema}.{row[0]}" for row in cur.fetchall()]


def ensure_pg_table(cur: Any, table: str, columns: Sequence[tuple[str, str]]) -> None:
    """Create ``table`` for these DuckDB-typed columns if missing; add the columns it lacks."""
    schema = table.partition(".")[0]
    cur.execute(f"create schema if not exists {quote_identifier(schema)}")
    existing = {name for name, _ in pg_columns(cur, table)}
    if not existing:
        body = ", ".join(
            f"{quote_identifier(name)} {pg_type(kind, f'{table}.{name}')}" for name, kind in columns
        )
        cur.execute(f"create table {qualified(table)} ({body})")
        return
    for name, kind in columns:
        if name not in existing:  # the stage gained a column since the table was created
            cur.execute(
                f"alter table {qualified(table)} add column {quote_identifier(name)} "
                f"{pg_type(kind, f'{table}.{name}')}"
            )


# --- DuckDB -> PostgreSQL -----------------------------------------------------------------------------


def _select_for_copy(relation: str, columns: Sequence[tuple[str, str]]) -> str:
    parts = []
    for name, kind in columns:
        quoted = quote_identifier(name)
        parts.append(f"cast({quoted} as varchar) as {quoted}" if kind.upper() in _AS_TEXT else quoted)
    return f"select {', '.join(parts)} from {relation}"


def _csv_chunks(reader: Any) -> Iterator[bytes]:
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    for batch in reader:
        if batch.num_rows == 0:
            continue
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer, options)
        yield buffer.getvalue()


def copy_to_postgres(cur: Any, con: duckdb.DuckDBPyConnection, relation: str, table: str) -> int:
    """Append the rows of a DuckDB table or ``(select ...)`` to the PostgreSQL ``table`` (created if missing).

    Returns the rows copied. Runs inside the caller's PostgreSQL transaction.
    """
    columns = duckdb_columns(con, relation)
    for name, kind in columns:
        pg_type(kind, f"{table}.{name}")  # fail before copying anything
    ensure_pg_table(cur, table, columns)
    column_list = ", ".join(quote_identifier(name) for name, _ in columns)
    copy_sql = f"copy {qualified(table)} ({column_list}) from stdin with (format csv)"
    reader = con.sql(_select_for_copy(relation, columns)).to_arrow_reader(COPY_BATCH_ROWS)
    rows = 0
    for chunk in _csv_chunks(reader):
        cur.copy_expert(copy_sql, io.BytesIO(chunk))
        rows += max(cur.rowcount, 0)
    return rows


def replace_in_postgres(cur: Any, con: duckdb.DuckDBPyConnection, source: str, table: str) -> int:
    """Make the PostgreSQL ``table`` hold exactly the rows of the DuckDB table ``source``.

    Same columns and types: truncate and copy (objects depending on the table stay). Different shape: the
    table is dropped (with what depends on it; dbt rebuilds its models) and created again.
    """
    columns = duckdb_columns(con, qualified(source))
    wanted = [(name, pg_type(kind, f"{table}.{name}")) for name, kind in columns]
    existing = pg_columns(cur, table)
    if existing and _normalised(existing) == _normalised(wanted):
        cur.execute(f"truncate table {qualified(table)}")
    elif existing:
        log.warning("%s changed shape; it is dropped and created again in PostgreSQL", table)
        cur.execute(f"drop table {qualified(table)} cascade")
    return copy_to_postgres(cur, con, qualified(source), table)


def merge_into_postgres(
    cur: Any,
    con: duckdb.DuckDBPyConnection,
    source: str,
    table: str,
    key: str,
    replace_values: Sequence[Any] = (),
) -> int:
    """Replace the PostgreSQL rows of ``table`` whose ``key`` value occurs in the DuckDB ``source`` or in
    ``replace_values`` (the values the stage replaced: their old rows go even when the stage wrote none)."""
    keys = [
        row[0]
        for row in con.execute(f"select distinct {quote_identifier(key)} from {qualified(source)}").fetchall()
    ]
    keys += [value for value in replace_values if value not in keys]
    if pg_table_exists(cur, table) and keys:
        cur.execute(f"delete from {qualified(table)} where {quote_identifier(key)} = any(%s)", [keys])
    return copy_to_postgres(cur, con, qualified(source), table)


def _normalised(columns: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    aliases = {"timestamp without time zone": "timestamp", "timestamp with time zone": "timestamptz"}
    return [
        (name, aliases.get(kind.replace(", ", ",").lower(), kind.replace(", ", ",").lower()))
        for name, kind in columns
    ]


# --- PostgreSQL -> DuckDB -----------------------------------------------------------------------------


def pull_from_postgres(
    cur: Any,
    con: duckdb.DuckDBPyConnection,
    table: str,
    target: str | None = None,
    where: str = "",
    params: Sequence[object] | None = None,
) -> int:
    """Create (or replace) the DuckDB table ``target`` (default: the same name) with the PostgreSQL rows.

    ``where`` (with ``%s`` parameters) selects a subset. Returns the rows pulled.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = pg_columns(cur, table)
    if not columns:
        raise WarehouseSyncError(f"{table} does not exist in the PostgreSQL warehouse")
    target = target or table
    schema = target.partition(".")[0]
    con.execute(f"create schema if not exists {quote_identifier(schema)}")
    names = [name for name, _ in columns]
    types = [duckdb_type(kind) for _, kind in columns]
    body = ", ".join(f"{quote_identifier(n)} {t}" for n, t in zip(names, types, strict=True))
    con.execute(f"create or replace table {qualified(target)} ({body})")
    select_list = ", ".join(
        f"cast({quote_identifier(n)} as text)" if t == "VARCHAR" or t == "JSON" else quote_identifier(n)
        for n, t in zip(names, types, strict=True)
    )
    query = cur.mogrify(
        f"select {select_list} from {qualified(table)}" + (f" where {where}" if where else ""), params
    ).decode()
    rows = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES) as spool:
        cur.copy_expert(f"copy ({query}) to stdout with (format csv, force_quote *)", spool)
        spool.seek(0)
        if spool.read(1) == b"":
            return 0
        spool.seek(0)
        reader = pacsv.open_csv(
            spool,
            read_options=pacsv.ReadOptions(
                column_names=[f"c{i}" for i in range(len(names))], block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={f"c{i}": pa.string() for i in range(len(names))},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                null_values=[""],
            ),
        )
        casts = ", ".join(
            f"cast(c{i} as {kind}) as {quote_identifier(name)}"
            for i, (name, kind) in enumerate(zip(names, types, strict=True))
        )
        insert = f"insert into {qualified(target)} select {casts} from _pg_batch"
        for batch in reader:
            con.register("_pg_batch", pa.Table.from_batches([batch]))
            try:
                con.execute(insert)
            finally:
                con.unregister("_pg_batch")
            rows += batch.num_rows
    return rows


# --- a stage's scratch DuckDB -------------------------------------------------------------------------


def scratch_dir(settings: Settings) -> Path:
    assert settings.warehouse_path is not None
    path = settings.warehouse_path.parent / SCRATCH_FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def scratch_duckdb(settings: Settings, purpose: str) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    """A fresh DuckDB file for one stage (removed afterwards), with the settings' threads and memory."""
    import duckdb

    path = scratch_dir(settings) / f"{purpose}-{uuid.uuid4().hex[:12]}.duckdb"
    con = duckdb.connect(str(path), config=duckdb_config(settings))
    try:
        con.execute("set enable_progress_bar = false")
        yield con, path
    finally:
        con.close()
        for leftover in (path, path.with_name(path.name + ".wal")):
            leftover.unlink(missing_ok=True)


def _expand(cur: Any, names: Iterable[str]) -> list[str]:
    """``schema`` entries become every table of that schema in PostgreSQL; ``schema.table`` stays."""
    tables: list[str] = []
    for name in names:
        if "." in name:
            if pg_table_exists(cur, name):
                tables.append(name)
        else:
            tables.extend(pg_tables(cur, name))
    return tables


def pull_tables(settings: Settings, con: duckdb.DuckDBPyConnection, names: Sequence[str]) -> dict[str, int]:
    """Copy PostgreSQL tables (``schema.table``, or every table of a ``schema``) into DuckDB; missing ones
    are skipped (a stage's own state does not exist before its first run)."""
    pulled: dict[str, int] = {}
    connection = pg_connect(settings)
    connection.set_session(isolation_level="REPEATABLE READ", readonly=True)  # one consistent view
    try:
        with connection.cursor() as cur:
            for table in _expand(cur, names):
                pulled[table] = pull_from_postgres(cur, con, table)
        connection.rollback()
    finally:
        connection.close()
    return pulled


def push_tables(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    names: Sequence[str],
    key: str | None = None,
    key_values: Sequence[Any] = (),
) -> dict[str, int]:
    """Write DuckDB tables (``schema.table`` or whole schemas) to PostgreSQL in one transaction.

    Without ``key`` each table replaces its PostgreSQL copy; with ``key`` only the rows with the key values
    the DuckDB table holds, and those with ``key_values``, are replaced (e.g. one ``as_of_date`` of an
    append-only history: a rerun of that date that wrote no row still removes the date's old rows).
    """
    tables: list[str] = []
    for name in names:
        if "." in name:
            if duckdb_table_exists(con, name):
                tables.append(name)
        else:
            tables.extend(duckdb_tables(con, name))
    pushed: dict[str, int] = {}
    connection = pg_connect(settings)
    try:
        with connection.cursor() as cur:
            for table in tables:
                if key is None:
                    pushed[table] = replace_in_postgres(cur, con, table, table)
                else:
                    pushed[table] = merge_into_postgres(cur, con, table, table, key, key_values)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()
    return pushed


@contextmanager
def postgres_workspace(
    settings: Settings,
    pull: Sequence[str],
    push: Sequence[str],
    push_key: str | None = None,
    push_key_values: Sequence[Any] = (),
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A scratch DuckDB holding the ``pull`` tables from PostgreSQL; on success ``push`` tables go back."""
    import time

    with scratch_duckdb(settings, "stage") as (con, _path):
        started = time.perf_counter()
        pulled = pull_tables(settings, con, pull)
        log.info("pulled %s from PostgreSQL in %.2fs", pulled, time.perf_counter() - started)
        yield con
        started = time.perf_counter()
        pushed = push_tables(settings, con, push, push_key, push_key_values)
        log.info("pushed %s to PostgreSQL in %.2fs", pushed, time.perf_counter() - started)


@contextmanager
def postgres_snapshot(settings: Settings, schemas: Sequence[str]) -> Iterator[Path]:
    """A scratch DuckDB file with every table of ``schemas`` pulled from PostgreSQL (removed afterwards)."""
    with scratch_duckdb(settings, "publish") as (con, path):
        pull_tables(settings, con, schemas)
        con.execute("checkpoint")
        con.close()
        yield path


# --- ingest: the local DuckDB cache -> PostgreSQL -----------------------------------------------------

MANIFEST = "audit.file_manifest"
MANIFEST_CURRENT = "audit.file_manifest_current"
QUARANTINE = "audit.quarantine"
_SYNC_SCHEMA = "_pg_sync"


def _manifest_current_view(columns: Sequence[str]) -> str:
    """``audit.file_manifest_current`` in portable SQL: each file's latest 'loaded' manifest row."""
    listed = ", ".join(quote_identifier(c) for c in columns)
    return (
        f"create or replace view {MANIFEST_CURRENT} as select {listed} from ("
        f"select {listed}, row_number() over (partition by channel, source_file order by ingested_at desc) "
        f"as _latest from {MANIFEST} where status = 'loaded') as ranked where _latest = 1"
    )


def sync_ingest(settings: Settings, con: duckdb.DuckDBPyConnection, channel: str) -> dict[str, int]:
    """Bring PostgreSQL's ``raw.<channel>`` and the channel's audit rows level with the local DuckDB cache.

    The cache (``settings.warehouse_path``) is where ingest loads, as on the DuckDB target. Afterwards every
    file whose current load in the cache differs from PostgreSQL's (new, changed, or a push that failed
    before) has its raw and quarantine rows replaced in PostgreSQL (delete by file, then insert), and the
    manifest rows PostgreSQL lacks are appended; all in one PostgreSQL transaction. Returns counts.
    """
    raw = f"raw.{channel}"
    if not duckdb_table_exists(con, raw):
        return {}
    con.execute(f"create schema if not exists {_SYNC_SCHEMA}")
    connection = pg_connect(settings)
    try:
        with connection.cursor() as cur:
            pg_manifest = f"{_SYNC_SCHEMA}.pg_manifest"
            if pg_table_exists(cur, MANIFEST):
                pull_from_postgres(cur, con, MANIFEST, pg_manifest, where="channel = %s", params=[channel])
            else:
                con.execute(f"create or replace table {pg_manifest} as select * from {MANIFEST} limit 0")
            con.execute(
                f"""create or replace table {_SYNC_SCHEMA}.files as
                with pg_current as (
                    select source_file, file_sha256, ingested_at from (
                        select *, row_number() over (partition by source_file order by ingested_at desc) as rn
                        from {pg_manifest} where status = 'loaded'
                    ) where rn = 1
                )
                select c.source_file
                from {MANIFEST_CURRENT} as c left join pg_current as p using (source_file)
                where c.channel = ? and (p.source_file is null or p.file_sha256 is distinct from c.file_sha256
                    or p.ingested_at is distinct from c.ingested_at)""",
                [channel],
            )
            files = [
                row[0] for row in con.execute(f"select source_file from {_SYNC_SCHEMA}.files").fetchall()
            ]
            counts = {"files": len(files), "raw_rows": 0, "quarantine_rows": 0}
            ensure_pg_table(cur, raw, duckdb_columns(con, qualified(raw)))
            ensure_pg_table(cur, QUARANTINE, duckdb_columns(con, qualified(QUARANTINE)))
            manifest_columns = duckdb_columns(con, qualified(MANIFEST))
            ensure_pg_table(cur, MANIFEST, manifest_columns)
            cur.execute(_manifest_current_view([name for name, _ in manifest_columns]))
            cur.execute(
                f"create index if not exists {quote_identifier(channel + '__source_file')} "
                f"on {qualified(raw)} (_source_file)"
            )
            if files:
                cur.execute(f"delete from {qualified(raw)} where _source_file = any(%s)", [files])
                cur.execute(
                    f"delete from {qualified(QUARANTINE)} where channel = %s and source_file = any(%s)",
                    [channel, files],
                )
                chosen = f"(select source_file from {_SYNC_SCHEMA}.files)"
                counts["raw_rows"] = copy_to_postgres(
                    cur, con, f"(select * from {qualified(raw)} where _source_file in {chosen})", raw
                )
                counts["quarantine_rows"] = copy_to_postgres(
                    cur,
                    con,
                    f"(select * from {qualified(QUARANTINE)} where channel = {sql_string(channel)} "
                    f"and source_file in {chosen})",
                    QUARANTINE,
                )
            counts["manifest_rows"] = copy_to_postgres(
                cur,
                con,
                f"""(select m.* from {qualified(MANIFEST)} as m where m.channel = {sql_string(channel)}
                and not exists (select 1 from {pg_manifest} as p where p.source_file = m.source_file
                    and p.run_id = m.run_id and p.ingested_at = m.ingested_at and p.status = m.status))""",
                MANIFEST,
            )
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()
        con.execute(f"drop schema if exists {_SYNC_SCHEMA} cascade")
    log.info("ingest of %s pushed to PostgreSQL: %s", channel, counts)
    return counts
