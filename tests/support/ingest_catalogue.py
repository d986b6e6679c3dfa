"""A catalogue of bad landing files, generated from valid files of every channel, and the rule they obey.

The valid files come from the project's data generator (every channel: CSV, JSON lines, Parquet). Each
mutation below turns one valid file into one case (a truncation, an over-long field, a stray quote, a
foreign encoding, binary garbage, ...): a few per format, applied to every channel of that format. The rule
checked over the whole catalogue (``check_catalogue``):

- for every case file: it is refused with a reason that quotes none of its content, or rows read =
  loaded + quarantined, where rows read is the number of physical records in the file (non-blank data
  lines, Parquet rows) so that no swallowed line can hide; every quarantined row has a line and a column
  (or "(whole record)"); raw holds exactly ``rows_loaded`` records of the file;
- each case's own expectation (refused, some rows quarantined, or loaded clean) holds;
- no other file's rows change: the valid file loaded next to every case keeps exactly the raw rows it gets
  when loaded alone.

Run ``uv run --frozen --no-sync python -m tests.support.ingest_catalogue`` to build the catalogue in a
temporary folder, load it and print its counts; ``tests/unit/test_ingest_catalogue.py`` asserts the rule.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from customer360.landing.contract import CHANNELS, FILE_SUFFIXES, Channel
from customer360.settings import Settings

DAY = date(2026, 3, 6)
RUN_ID = "catalogue"
# Limits of the catalogue's runs: small, so over-long values and lines stay small files.
MAX_FIELD_CHARS = 2_000
MAX_LINE_CHARS = 20_000
MAX_FILE_BYTES = 400_000
# Records per valid file: enough to see the rows around a damaged one load.
RECORDS = 10

# Text that a loaded case must hold in raw, decoded as written (mutation name -> text).
MARKERS = {"gb18030_with_latin_names": "Müller"}

REFUSED = "refused"
QUARANTINED = "quarantined"  # the file loads; at least one record is quarantined
CLEAN = "loaded"  # the file loads with nothing quarantined
ANY = "any"  # only the rule applies (the outcome depends on the bytes the mutation met)


@dataclass(frozen=True)
class Case:
    channel: str
    name: str  # file name in the landing folder
    content: bytes
    expect: str
    records: int | None  # physical records the file holds (None: not countable, e.g. refused)

    @property
    def marker(self) -> str | None:
        """Text the raw rows of a loaded re-encoded case must hold (no mojibake)."""
        return MARKERS.get(self.name.split(".")[0].removeprefix("case_"))


@dataclass
class Outcome:
    cases: int = 0
    refused: int = 0
    quarantined: int = 0
    loaded: int = 0
    skipped: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    violations: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"catalogue: {self.cases} cases; {self.refused} refused, {self.quarantined} loaded with rows "
            f"quarantined, {self.loaded} loaded clean, {self.skipped} skipped as duplicates; rows read "
            f"{self.rows_read} = loaded {self.rows_loaded} + quarantined {self.rows_quarantined}; "
            f"{len(self.violations)} violation(s)"
        )


# --- valid files --------------------------------------------------------------------------------------


def _generate(out: Path) -> Path:
    from customer360_dev.datagen.generate import generate

    landing = out / "generated"
    generate(landing, customers=600, days=20, seed=22, end_date=DAY, dirt=0.0, truth_dir=out / "truth")
    return landing


def valid_files(work: Path) -> dict[str, tuple[str, bytes]]:
    """Per channel: (suffix, bytes) of a valid file of ``RECORDS`` records cut from the generator's output."""
    landing = _generate(work)
    out: dict[str, tuple[str, bytes]] = {}
    for name, channel in CHANNELS.items():
        files = sorted((landing / name).glob("*/*"))
        suffix = FILE_SUFFIXES[channel.format][0]
        if channel.format == "parquet":
            table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
            sink = io.BytesIO()
            pq.write_table(table.slice(0, RECORDS), sink)
            out[name] = (suffix, sink.getvalue())
            continue
        lines: list[bytes] = []
        for path in files:
            lines.extend(_lines(path.read_bytes())[1 if channel.format == "csv" else 0 :])
        header = _lines(files[0].read_bytes())[:1] if channel.format == "csv" else []
        out[name] = (suffix, b"".join(header + lines[:RECORDS]))
    return out


def physical_records(channel: Channel, content: bytes) -> int:
    """Non-blank data lines (CSV after its header, JSON lines), or Parquet rows."""
    if channel.format == "parquet":
        return pq.ParquetFile(io.BytesIO(content)).metadata.num_rows
    text = content.decode("utf-8-sig")
    lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()]
    return max(0, len(lines) - 1) if channel.format == "csv" else len(lines)


# --- mutations ----------------------------------------------------------------------------------------

Mutation = Callable[
    [Channel, bytes], tuple[bytes, str, int | None, str]
]  # (content, expect, records, suffix)


def _lines(content: bytes) -> list[bytes]:
    return content.splitlines(keepends=True)


def _csv_field(channel: Channel, content: bytes, row: int, column: str, value: str, quote: bool) -> bytes:
    """The CSV with ``value`` written into ``column`` of data row ``row`` (1-based), as text."""
    lines = _lines(content)
    text = lines[row].decode("utf-8").rstrip("\r\n")
    header = lines[0].decode("utf-8").rstrip("\r\n").split(channel.delimiter)
    fields = text.split(channel.delimiter)
    fields[header.index(column)] = f'"{value}"' if quote else value
    lines[row] = (channel.delimiter.join(fields) + "\n").encode("utf-8")
    return b"".join(lines)


def _text_column(channel: Channel) -> str:
    """An optional free-text column of the channel (a damaged value there fails no type check)."""
    for name in ("comment", "city", "category", "street", "loyalty_id", "customer_email"):
        if any(c.name == name and not c.required for c in channel.columns):
            return name
    raise LookupError(channel.name)


def _last_column(channel: Channel) -> str:
    return channel.columns[-1].name


def csv_mutations() -> dict[str, Mutation]:
    def count(c: Channel, b: bytes) -> int:
        return physical_records(c, b)

    def truncated_mid_line(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        lines = _lines(b)
        cut = b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 3]
        return cut, QUARANTINED, count(c, cut), ".csv"

    def cut_inside_quoted_last_field(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        lines = _lines(b)
        last = len(lines) - 1
        quoted = _csv_field(c, b, last, _last_column(c), "partial value that goes on", quote=True)
        cut = quoted.rstrip(b"\r\n")[: -len('goes on"')]
        return cut, QUARANTINED, count(c, cut), ".csv"

    def field_over_limit_quoted(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = _csv_field(c, b, 2, _text_column(c), "x" * (MAX_FIELD_CHARS * 3), quote=True)
        return out, QUARANTINED, count(c, out), ".csv"

    def field_over_limit_plain(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = _csv_field(c, b, 3, _text_column(c), "y" * (MAX_FIELD_CHARS * 3), quote=False)
        return out, QUARANTINED, count(c, out), ".csv"

    def line_over_limit(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = _csv_field(c, b, 4, _text_column(c), "z" * (MAX_LINE_CHARS * 2), quote=False)
        return out, QUARANTINED, count(c, out), ".csv"

    def neighbours_with_unclosed_quotes(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        column = _last_column(c)
        out = _csv_field(c, b, 3, column, '"open one', quote=False)
        out = _csv_field(c, out, 4, column, '"open two', quote=False)
        return out, QUARANTINED, count(c, out), ".csv"

    def unclosed_quote_mid_file(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = _csv_field(c, b, 2, _text_column(c), '"never closed', quote=False)
        return out, QUARANTINED, count(c, out), ".csv"

    def text_after_closing_quote(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = _csv_field(c, b, 5, _text_column(c), '"quoted"tail', quote=False)
        return out, QUARANTINED, count(c, out), ".csv"

    def extra_field(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        lines = _lines(b)
        lines[2] = lines[2].rstrip(b"\r\n") + c.delimiter.encode() + b"surplus\n"
        out = b"".join(lines)
        return out, QUARANTINED, count(c, out), ".csv"

    def missing_field(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        lines = _lines(b)
        lines[3] = lines[3].rstrip(b"\r\n").rsplit(c.delimiter.encode(), 1)[0] + b"\n"
        out = b"".join(lines)
        return out, QUARANTINED, count(c, out), ".csv"

    def nul_in_first_and_last_rows(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = _csv_field(c, b, 1, _text_column(c), "a\x00b", quote=False)
        out = _csv_field(c, out, len(_lines(out)) - 1, _text_column(c), "c\x00d", quote=False)
        return out, QUARANTINED, count(c, out), ".csv"

    def blank_lines_and_crlf(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = b"\r\n".join(line.rstrip(b"\r\n") for line in _lines(b)) + b"\r\n\r\n\r\n"
        return out, CLEAN, count(c, out), ".csv"

    def utf8_bom(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return b"\xef\xbb\xbf" + b, CLEAN, count(c, b), ".csv"

    def gb18030_with_latin_names(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        text = _csv_field(c, b, 1, _text_column(c), "王小明 Müller Köln", quote=False)
        text = _csv_field(c, text, 2, _text_column(c), "北京市朝阳区 José Núñez", quote=False)
        out = text.decode("utf-8").encode("gb18030")
        return out, CLEAN, count(c, text), ".csv"

    def latin1_names(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        text = _csv_field(c, b, 1, _text_column(c), "Müller Köln Besançon", quote=False)
        out = text.decode("utf-8").encode("latin-1", errors="replace")
        return out, ANY, count(c, text), ".csv"

    def gzipped(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return gzip.compress(b + b"\n"), CLEAN, count(c, b), ".csv.gz"

    def gzip_truncated(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        packed = gzip.compress(b)
        return packed[: len(packed) // 2], REFUSED, None, ".csv.gz"

    def header_only(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return _lines(b)[0], CLEAN, 0, ".csv"

    def required_column_renamed(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        lines = _lines(b)
        lines[0] = lines[0].replace(c.key[0].encode(), b"renamed_key", 1)
        return b"".join(lines), REFUSED, None, ".csv"

    def type_errors(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = _csv_field(c, b, 2, c.event_time, "not a timestamp", quote=False)
        return out, QUARANTINED, count(c, out), ".csv"

    def duplicated_row(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        lines = _lines(b)
        out = b"".join(lines[:3] + [lines[2]] + lines[3:])
        return out, CLEAN, count(c, out), ".csv"

    return {f.__name__: f for f in locals().values() if callable(f) and f.__name__ != "count"}


def text_mutations_shared() -> dict[str, Mutation]:
    """Mutations of any text file, CSV or JSON lines."""

    def binary_garbage(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        rng = random.Random(22)
        garbage = bytes(rng.randrange(256) for _ in range(4096)) + b"\x00" * 64
        return garbage, REFUSED, None, FILE_SUFFIXES[c.format][0]

    def empty(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return b"", CLEAN, 0, FILE_SUFFIXES[c.format][0]

    def file_over_limit(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return b + b"\n" * (MAX_FILE_BYTES + 1), REFUSED, None, FILE_SUFFIXES[c.format][0]

    def undecodable_byte_soup(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        lines = _lines(b)
        lines[2] = lines[2].rstrip(b"\r\n") + bytes(range(0x80, 0xA0)) * 4 + b"\n"
        return b"".join(lines), ANY, None, FILE_SUFFIXES[c.format][0]

    return {f.__name__: f for f in locals().values() if callable(f)}


def jsonl_mutations() -> dict[str, Mutation]:
    def count(c: Channel, b: bytes) -> int:
        return physical_records(c, b)

    def edit(b: bytes, index: int, change: Callable[[dict], object]) -> bytes:
        lines = _lines(b)
        record = json.loads(lines[index])
        lines[index] = (json.dumps(change(record), ensure_ascii=False) + "\n").encode("utf-8")
        return b"".join(lines)

    def truncated_mid_line(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        lines = _lines(b)
        cut = b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2]
        return cut, QUARANTINED, count(c, cut), ".jsonl"

    def array_not_object(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = edit(b, 1, lambda r: [r])
        return out, QUARANTINED, count(c, out), ".jsonl"

    def field_over_limit(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = edit(b, 2, lambda r: {**r, "currency": "E" * (MAX_FIELD_CHARS * 3)})
        return out, QUARANTINED, count(c, out), ".jsonl"

    def line_over_limit(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = edit(b, 3, lambda r: {**r, "note": "n" * (MAX_LINE_CHARS * 2)})
        return out, QUARANTINED, count(c, out), ".jsonl"

    def nul_escaped_in_value(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = edit(b, 4, lambda r: {**r, "currency": "EU\x00R"})
        return out, QUARANTINED, count(c, out), ".jsonl"

    def raw_nul_in_line(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        lines = _lines(b)
        lines[5] = lines[5].replace(b'"', b'"\x00', 1)
        out = b"".join(lines)
        return out, QUARANTINED, count(c, out), ".jsonl"

    def missing_required_field(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = edit(b, 1, lambda r: {k: v for k, v in r.items() if k != c.key[0]})
        return out, QUARANTINED, count(c, out), ".jsonl"

    def gb18030_with_latin_names(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        text = b
        for index, name in enumerate(("王小明 Müller", "北京市朝阳区 Köln", "张伟 Núñez"), start=1):
            text = edit(
                text, index, lambda r, n=name: {**r, "customer": {**r.get("customer", {}), "last_name": n}}
            )
        return text.decode("utf-8").encode("gb18030"), CLEAN, count(c, text), ".jsonl"

    def crlf_and_blank_lines(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = b"\r\n\r\n".join(line.rstrip(b"\r\n") for line in _lines(b)) + b"\r\n"
        return out, CLEAN, count(c, out), ".jsonl"

    def gzipped(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return gzip.compress(b), CLEAN, count(c, b), ".jsonl.gz"

    def unterminated_string(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        lines = _lines(b)
        lines[2] = lines[2].rstrip(b"\r\n")[:-2] + b'"open\n'
        out = b"".join(lines)
        return out, QUARANTINED, count(c, out), ".jsonl"

    return {f.__name__: f for f in locals().values() if callable(f) and f.__name__ not in ("count", "edit")}


def parquet_mutations() -> dict[str, Mutation]:
    def table(b: bytes) -> pa.Table:
        return pq.read_table(io.BytesIO(b))

    def write(t: pa.Table) -> bytes:
        sink = io.BytesIO()
        pq.write_table(t, sink)
        return sink.getvalue()

    def with_text(t: pa.Table, column: str, row: int, value: str) -> pa.Table:
        values = t.column(column).cast(pa.string()).to_pylist()
        values[row] = value
        return t.set_column(t.schema.get_field_index(column), column, pa.array(values, pa.string()))

    def free_text(c: Channel) -> str:
        for name in ("customer_name", "claim", "url", "campaign_id"):
            if any(col.name == name for col in c.columns):
                return name
        raise LookupError(c.name)

    def truncated(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return b[: len(b) // 2], REFUSED, None, ".parquet"

    def footer_only(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return b"PAR1" + b[-64:], REFUSED, None, ".parquet"

    def empty_bytes(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return b"", REFUSED, None, ".parquet"

    def zero_rows(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return write(table(b).slice(0, 0)), CLEAN, 0, ".parquet"

    def text_under_parquet_suffix(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return b"id,value\n1,2\n", REFUSED, None, ".parquet"

    def field_over_limit(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return (
            write(with_text(table(b), free_text(c), 1, "w" * (MAX_FIELD_CHARS * 3))),
            QUARANTINED,
            RECORDS,
            ".parquet",
        )

    def nul_in_value(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        out = write(with_text(table(b), free_text(c), 2, "before\x00after"))
        return out, QUARANTINED, RECORDS, ".parquet"

    def required_column_dropped(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return write(table(b).drop_columns([c.key[0]])), REFUSED, None, ".parquet"

    def event_time_as_text_garbage(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        return write(with_text(table(b), c.event_time, 3, "yesterday")), QUARANTINED, RECORDS, ".parquet"

    def binary_not_utf8(c: Channel, b: bytes) -> tuple[bytes, str, int | None, str]:
        t = table(b)
        name = free_text(c)
        values = [
            b"\xff\xfe" if i == 0 else (v or "").encode()
            for i, v in enumerate(t.column(name).cast(pa.string()).to_pylist())
        ]
        t = t.set_column(t.schema.get_field_index(name), name, pa.array(values, pa.binary()))
        return write(t), QUARANTINED, RECORDS, ".parquet"

    return {
        f.__name__: f
        for f in locals().values()
        if callable(f) and f.__name__ not in ("table", "write", "with_text", "free_text")
    }


def mutations_for(channel: Channel) -> dict[str, Mutation]:
    if channel.format == "parquet":
        return parquet_mutations()
    own = csv_mutations() if channel.format == "csv" else jsonl_mutations()
    return {**own, **text_mutations_shared()}


def build_cases(valid: dict[str, tuple[str, bytes]]) -> Iterator[Case]:
    for name, channel in CHANNELS.items():
        _, base = valid[name]
        for mutation, apply in mutations_for(channel).items():
            content, expect, records, suffix = apply(channel, base)
            yield Case(name, f"case_{mutation}{suffix}", content, expect, records)


# --- running and checking ------------------------------------------------------------------------------


def catalogue_settings(home: Path) -> Settings:
    return Settings(
        home=home,
        channels_file=home / "channels.yml",
        duckdb_threads=1,
        ingest_max_field_chars=MAX_FIELD_CHARS,
        ingest_max_line_chars=MAX_LINE_CHARS,
        ingest_max_file_bytes=MAX_FILE_BYTES,
    )


def _place(settings: Settings, channel: str, name: str, content: bytes) -> None:
    assert settings.landing_root is not None
    target = settings.landing_root / channel / DAY.isoformat() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)


def _raw_rows(settings: Settings, channel: str, source_file: str) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(
            f'select _source_line, _record_hash from raw."{channel}" where _source_file = ? order by 1, 2',
            [source_file],
        ).fetchall()


def _quarantine(settings: Settings, channel: str, source_file: str) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(
            "select line_number, column_name from audit.quarantine where channel = ? and source_file = ?",
            [channel, source_file],
        ).fetchall()


def _quoted_content(case: Case, message: str) -> str | None:
    """A value of the case file's data rows (10 characters or more) that the message repeats, if any."""
    try:
        text = case.content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    channel = CHANNELS[case.channel]
    lines = [line for line in text.splitlines() if line.strip()][1:6]
    for line in lines:
        values = next(csv.reader([line], delimiter=channel.delimiter)) if channel.format == "csv" else [line]
        for value in values:
            if len(value) >= 10 and value in message:
                return value
    return None


def check_catalogue(work: Path) -> Outcome:
    """Build the catalogue under ``work``, load it channel by channel, and check the rule on every file."""
    from customer360.ingest import load_channel

    valid = valid_files(work)
    cases = list(build_cases(valid))
    outcome = Outcome(cases=len(cases))
    for name in CHANNELS:
        suffix, base = valid[name]
        base_file = f"{name}/{DAY.isoformat()}/valid{suffix}"
        alone = catalogue_settings(work / f"alone_{name}")
        _place(alone, name, f"valid{suffix}", base)
        load_channel(alone, name, DAY, RUN_ID)
        expected_base = _raw_rows(alone, name, base_file)

        together = catalogue_settings(work / f"together_{name}")
        _place(together, name, f"valid{suffix}", base)
        mine = [case for case in cases if case.channel == name]
        for case in mine:
            _place(together, name, case.name, case.content)
        result = load_channel(together, name, DAY, RUN_ID)
        by_file = {f.file: f for f in result.files}
        if _raw_rows(together, name, base_file) != expected_base or by_file[base_file].status != "loaded":
            outcome.violations.append(f"{base_file}: the valid file's rows changed next to the catalogue")
        for case in mine:
            source_file = f"{name}/{DAY.isoformat()}/{case.name}"
            _check_case(together, case, by_file.get(source_file), source_file, outcome)
    return outcome


def _check_case(settings: Settings, case: Case, file, source_file: str, outcome: Outcome) -> None:  # noqa: ANN001
    problems = outcome.violations
    if file is None:
        problems.append(f"{source_file}: no manifest row")
        return
    if file.status == "skipped_duplicate":
        outcome.skipped += 1
        return
    if file.status == "failed":
        outcome.refused += 1
        quoted = _quoted_content(case, file.message)
        if not file.message or quoted is not None:
            problems.append(f"{source_file}: refused without a reason or quoting its content ({quoted!r})")
        if case.expect not in (REFUSED, ANY):
            problems.append(f"{source_file}: refused ({file.message}), expected {case.expect}")
        return
    if file.status != "loaded":
        problems.append(f"{source_file}: status {file.status}")
        return
    outcome.rows_read += file.rows_read
    outcome.rows_loaded += file.rows_loaded
    outcome.rows_quarantined += file.rows_quarantined
    if file.rows_quarantined:
        outcome.quarantined += 1
    else:
        outcome.loaded += 1
    if file.rows_read != file.rows_loaded + file.rows_quarantined:
        problems.append(f"{source_file}: read {file.rows_read} != loaded + quarantined")
    if case.records is not None and file.rows_read != case.records:
        problems.append(f"{source_file}: read {file.rows_read} of {case.records} physical records")
    if case.expect == REFUSED:
        problems.append(f"{source_file}: loaded, expected refused")
    elif case.expect == QUARANTINED and not file.rows_quarantined:
        problems.append(f"{source_file}: nothing quarantined, expected at least one record")
    elif case.expect == CLEAN and file.rows_quarantined:
        problems.append(f"{source_file}: {file.rows_quarantined} quarantined, expected none")
    raw_records = {line for line, _ in _raw_rows(settings, case.channel, source_file)}
    if len(raw_records) != file.rows_loaded:
        problems.append(
            f"{source_file}: raw holds {len(raw_records)} records, manifest says {file.rows_loaded}"
        )
    if case.marker is not None and file.rows_loaded:
        import duckdb

        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            rows = con.execute(
                f'select * from raw."{case.channel}" where _source_file = ?', [source_file]
            ).fetchall()
        if not any(case.marker in str(value) for row in rows for value in row):
            problems.append(f"{source_file}: {case.marker!r} is not in raw as written (wrong encoding?)")
    quarantined = _quarantine(settings, case.channel, source_file)
    if len(quarantined) != file.rows_quarantined or any(
        line is None or col is None for line, col in quarantined
    ):
        problems.append(f"{source_file}: quarantine rows without line or column, or not as many as counted")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="customer360-catalogue-") as tmp:
        outcome = check_catalogue(Path(tmp))
    print(outcome.line())
    for violation in outcome.violations:
        print(f"  violation: {violation}")
    return 1 if outcome.violations else 0


if __name__ == "__main__":
    sys.exit(main())
