"""Readers: turn one landing file into Arrow batches of contract columns, with line numbers.

Every reader yields ``SourceBatch`` objects whose ``table`` has one ``string`` column per contract column
(named by ``contract.raw_column_name``; absent optional columns are all null) and ``_source_line`` (int64,
1-based). Channels with a nested array (``web_orders``) also carry ``_item_index`` (1-based position in
the array; 0 for a record without elements) and ``_raw_record`` (the JSON line as delivered). Records the
reader cannot make sense of come back as ``Reject`` objects with their line, a reason, their text (cut to
``RAW_TEXT_CHARS``) and the column where they break, or ``WHOLE_RECORD`` when the record as a whole is
wrong; reading goes on with the next record. ``SourceBatch.records`` counts every record read, accepted or
rejected: one per physical record, so a line swallowed by another record cannot hide.

Rejected by every reader (``_screen``): a value longer than ``ReadLimits.max_field_chars`` and a value
holding a NUL byte, wherever in the file (the column is named); by the text readers: a line longer than
``ReadLimits.max_line_chars`` (never held in memory whole).

All text is NFKC-normalised, stripped of control characters other than newline and tab, trimmed, and
empty strings become null (CSV cannot tell them apart).

Formats:

- CSV: decoded in Python (any encoding, see ``encoding.py``), then split into records with their start
  lines: a block of lines without a quote character is one record per line (field counts checked by
  counting delimiters); a block with quotes goes through Python's ``csv`` module in strict mode (quoted
  fields may hold newlines; nothing may follow a closing quote; the end of the file may not fall inside
  quotes). A record may span lines only when it parses so with the header's number of fields; otherwise
  (an unclosed quote, text after a closing quote, a field over the limit, more than ``MAX_RECORD_LINES``
  lines) its first line alone is rejected, naming the column where it breaks, and reading resumes on the
  next line. pyarrow's CSV parser turns each batch of well-formed records into columns.
- JSON lines: one object per line; DuckDB's JSON functions extract the (dotted) fields and unnest the
  nested array, one row per element; a line that is not a JSON object is rejected whole.
- Parquet: pyarrow, in row batches; native types are written as text (timestamps as ISO-8601).

A file that cannot be read at all raises ``ReadError`` with a reason that quotes none of its content;
``OSError`` (permissions, disk) is not caught.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360.landing.contract import Column, raw_column_name
from customer360.landing.encoding import EncodingChoice, EncodingError, detect_encoding, open_text
from customer360.landing.mapping import ChannelConfig
from customer360.settings import DEFAULT_INGEST_MAX_FIELD_CHARS, DEFAULT_INGEST_MAX_LINE_CHARS
from customer360.sql_strings import sql_string

if TYPE_CHECKING:
    import duckdb

_T = TypeVar("_T")

DEFAULT_BATCH_ROWS = 200_000
# JSON lines are larger than CSV rows (an order with its lines): batches hold this share of ``batch_rows``.
JSONL_BATCH_SHARE = 0.25
# JSON lines: extra fields (schema drift) are looked for in this many lines at the start of each batch.
DRIFT_SAMPLE_LINES = 5_000
# A quoted CSV field spanning more lines than this is taken to be an unclosed quote.
MAX_RECORD_LINES = 1_000
QUOTE_CHAR = '"'

SOURCE_LINE = "_source_line"
ITEM_INDEX = "_item_index"
RAW_RECORD = "_raw_record"

# Control characters other than tab (09) and newline (0A), including C1 controls (80-9F).
_CONTROL_CHARS = r"[\x{00}-\x{08}\x{0B}-\x{1F}\x{7F}-\x{9F}]"
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class ReadError(Exception):
    """The file cannot be read at all; the loader marks it failed and goes on with the next file."""


class MissingColumnsError(ReadError):
    """Required contract columns are absent from the file's header (or from every JSON record)."""


@dataclass(frozen=True)
class Reject:
    """A record the file format could not parse: its (first) line, why, and its text as delivered."""

    line: int
    reason: str
    raw_text: str
    column: str | None = None


@dataclass
class SourceBatch:
    table: pa.Table
    rejects: list[Reject]
    records: int  # records read in this batch: rows (CSV, Parquet) or JSON lines, including rejects


@dataclass
class LandingFile:
    """An opened landing file. ``drift`` and ``notes`` may grow while ``batches`` is consumed."""

    path: Path
    config: ChannelConfig
    encoding: EncodingChoice | None
    batches: Iterator[SourceBatch]
    drift: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- text normalisation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _TextHints:
    """What is already known about a batch's text, to skip normalisation passes that cannot change it."""

    ascii: bool | None = None
    controls: bool | None = None


def normalise_text(
    values: pa.Array | pa.ChunkedArray, hints: _TextHints | None = None
) -> pa.Array | pa.ChunkedArray:
    """NFKC, drop control characters except newline and tab, trim, and make empty strings null."""
    if values.null_count == len(values):
        return values
    hints = hints or _TextHints()
    is_ascii = hints.ascii if hints.ascii is not None else pc.all(pc.string_is_ascii(values)).as_py()
    if not is_ascii:
        values = pc.utf8_normalize(values, "NFKC")
    if hints.controls is not False and pc.any(pc.match_substring_regex(values, _CONTROL_CHARS)).as_py():
        values = pc.replace_substring_regex(values, pattern=_CONTROL_CHARS, replacement="")
    values = pc.ascii_trim_whitespace(values) if is_ascii else pc.utf8_trim_whitespace(values)
    empty = pc.equal(values, "")
    if pc.any(empty).as_py():
        values = pc.if_else(empty, pa.scalar(None, pa.string()), values)
    return values


def _contract_table(
    columns: dict[str, pa.Array | pa.ChunkedArray],
    contract: tuple[Column, ...],
    rows: int,
    hints: _TextHints | None = None,
) -> dict[str, pa.Array | pa.ChunkedArray]:
    out: dict[str, pa.Array | pa.ChunkedArray] = {}
    for col in contract:
        values = columns.get(col.name)
        out[raw_column_name(col.name)] = (
            pa.nulls(rows, pa.string()) if values is None else normalise_text(values.cast(pa.string()), hints)
        )
    return out


# --- header resolution (CSV and Parquet) ------------------------------------------------------------


@dataclass(frozen=True)
class ColumnLayout:
    """Which source column feeds each contract column, and what did not match."""

    positions: dict[str, int]  # contract name -> index in the source columns
    drift: list[str]


def resolve_columns(source_names: list[str], config: ChannelConfig, where: str) -> ColumnLayout:
    """Match a header to the contract via the channel's mapping (exact name first, then ignoring case).

    Raises ``MissingColumnsError`` naming every required column that is absent, and ``ReadError`` when a
    needed column appears twice. Extra columns and absent optional columns become drift notes.
    """
    stripped = [name.strip() for name in source_names]
    exact: dict[str, list[int]] = {}
    folded: dict[str, list[int]] = {}
    for i, name in enumerate(stripped):
        exact.setdefault(name, []).append(i)
        folded.setdefault(name.casefold(), []).append(i)
    positions: dict[str, int] = {}
    missing_required: list[str] = []
    drift: list[str] = []
    for col in config.channel.columns:
        source = config.source_name(col.name)
        hits = exact.get(source) or folded.get(source.casefold()) or []
        if len(hits) > 1:
            raise ReadError(f"{where}: column {source!r} appears {len(hits)} times in the header")
        if hits:
            positions[col.name] = hits[0]
        elif col.required:
            missing_required.append(
                col.name if source == col.name else f"{col.name} (source name {source!r})"
            )
        else:
            drift.append(f"{where}: optional column {source!r} is missing (loaded as empty)")
    if missing_required:
        raise MissingColumnsError(
            f"{where}: required column(s) missing from the header: {', '.join(missing_required)} (the "
            f"file has {len(stripped)} column(s), {len(positions)} of them in the contract). Fix the export "
            "or map the names in channels.yml"
        )
    used = set(positions.values())
    for i, name in enumerate(stripped):
        if i not in used:
            shown = name if name else f"(unnamed column {i + 1})"
            drift.append(f"{where}: extra column {shown!r} is not in the contract (not loaded)")
    return ColumnLayout(positions, drift)


# --- limits and row screening (every format) ---------------------------------------------------------


@dataclass(frozen=True)
class ReadLimits:
    """The largest field and line a reader accepts (settings ``ingest_max_field_chars`` / ``_line_chars``).

    A record with a longer value or line is quarantined with the setting named; the file goes on.
    """

    max_field_chars: int = DEFAULT_INGEST_MAX_FIELD_CHARS
    max_line_chars: int = DEFAULT_INGEST_MAX_LINE_CHARS

    @classmethod
    def from_settings(cls, settings: object) -> ReadLimits:
        return cls(
            max_field_chars=int(getattr(settings, "ingest_max_field_chars", cls.max_field_chars)),
            max_line_chars=int(getattr(settings, "ingest_max_line_chars", cls.max_line_chars)),
        )

    def field_reason(self, length: int) -> str:
        return (
            f"value of {length} characters is longer than the limit ingest_max_field_chars "
            f"({self.max_field_chars})"
        )

    def line_reason(self, line: int, length: int) -> str:
        return (
            f"line {line} has {length} characters, longer than the limit ingest_max_line_chars "
            f"({self.max_line_chars}); the record is not read"
        )


# Quarantined text is cut to this many characters (an over-long value is not copied whole).
RAW_TEXT_CHARS = 10_000
# ``column_name`` of a reject that concerns the whole record, not one field (wrong field count, a line that
# is not a JSON object, an over-long line).
WHOLE_RECORD = "(whole record)"
NUL_REASON = "contains a NUL byte (a control character no text export writes)"


def _clip(text: str) -> str:
    return text if len(text) <= RAW_TEXT_CHARS else text[:RAW_TEXT_CHARS] + "…"


def _bounded_lines(text: TextIO, limit: int, long_lines: dict[int, int]) -> Iterator[str]:
    """The lines of ``text``; a line longer than ``limit`` characters is not held in memory: it is read
    through in chunks and replaced by ``LONG_LINE`` (its number and length go into ``long_lines``)."""
    number = 0
    while True:
        line = text.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) <= limit or line.endswith(("\n", "\r")):
            yield line
            continue
        length = len(line)
        while chunk := text.readline(1 << 20):
            if chunk.endswith(("\n", "\r")):
                length += len(chunk.rstrip("\r\n"))
                break
            length += len(chunk)
        long_lines[number] = length
        yield LONG_LINE


# Stands in for an over-long line: no delimiter, no quote, not blank; its record is rejected by line number.
LONG_LINE = "\x00\n"


def _screen(
    by_name: dict[str, pa.Array | pa.ChunkedArray], rows: int, limits: ReadLimits
) -> list[tuple[int, str, str]]:
    """(row index, column, reason) of each row with a value over the field limit or holding a NUL byte:
    the first such column in contract order. Vectorised per column; only failing rows are materialised."""
    if not rows:
        return []
    found: dict[int, tuple[str, str]] = {}
    for name, values in by_name.items():
        if values.null_count == len(values):
            continue
        text = values if pa.types.is_string(values.type) else values.cast(pa.string())
        lengths = pc.utf8_length(text)
        too_long = pc.fill_null(pc.greater(lengths, limits.max_field_chars), False)
        has_nul = pc.fill_null(pc.match_substring(text, "\x00"), False)
        bad = pc.or_(too_long, has_nul)
        if not pc.any(bad).as_py():
            continue
        for index in np.flatnonzero(bad.to_numpy(zero_copy_only=False)):
            if int(index) in found:
                continue
            length = lengths[int(index)].as_py()
            reason = limits.field_reason(length) if length > limits.max_field_chars else NUL_REASON
            found[int(index)] = (name, reason)
    return sorted((index, name, reason) for index, (name, reason) in found.items())


def _screened_rejects(
    found: list[tuple[int, str, str]],
    lines: Sequence[int],
    by_name: dict[str, pa.Array | pa.ChunkedArray],
) -> list[Reject]:
    rejects = []
    for index, name, reason in found:
        record = {
            key: None if (value := values[index].as_py()) is None else _clip(str(value))
            for key, values in by_name.items()
        }
        rejects.append(
            Reject(
                int(lines[index]), f"column {name}: {reason}", json.dumps(record, ensure_ascii=False), name
            )
        )
    return rejects


def _without_rows(
    columns: dict[str, pa.Array | pa.ChunkedArray], rows: int, drop: Sequence[int]
) -> dict[str, pa.Array | pa.ChunkedArray]:
    keep = np.ones(rows, dtype=bool)
    keep[list(drop)] = False
    mask = pa.array(keep)
    return {name: values.filter(mask) for name, values in columns.items()}


# --- CSV --------------------------------------------------------------------------------------------


class _RunawayRecord(Exception):
    """A record has grown past ``MAX_RECORD_LINES`` lines: a quote was opened and never closed."""


def _first_problem(line: str, delimiter: str, limit: int) -> tuple[int, str] | None:
    """(0-based field, what is wrong) of the first field of ``line`` that keeps it from being a complete
    CSV record on its own, or None. Runs only on lines already rejected, to name their column."""
    body = line.rstrip("\r\n")
    i, field_index, n = 0, 0, len(body)
    while True:
        if body.startswith(QUOTE_CHAR, i):
            j = i + 1
            while True:
                k = body.find(QUOTE_CHAR, j)
                if k < 0:
                    return field_index, "a quoted field is opened and not closed on this line"
                if body.startswith(QUOTE_CHAR, k + 1):
                    j = k + 2
                    continue
                break
            length = k - i - 1
            after = k + 1
            if after < n and body[after] != delimiter:
                return field_index, "text follows the closing quote of a quoted field"
        else:
            after = body.find(delimiter, i)
            after = n if after < 0 else after
            length = after - i
            if QUOTE_CHAR in body[i:after]:
                return field_index, "a quote inside a field that does not start with one"
        if length > limit:
            return field_index, f"a field longer than the limit ingest_max_field_chars ({limit})"
        if after >= n:
            return None
        i, field_index = after + 1, field_index + 1


class _CsvRecords:
    """Splits a CSV text stream into records, tracking the line each record starts on.

    Every physical line ends up in exactly one record, accepted or rejected: a record spans several lines
    only when it parses strictly (quotes closed, nothing after a closing quote) with the header's number of
    fields; otherwise its first line alone is rejected and the lines after it are read again as records.
    Lines of accepted records stay in ``buffer`` until a batch is taken; lines of rejected records are
    removed from it, so the buffer always holds well-formed records only, ready for a fast parser.
    """

    def __init__(self, text: TextIO, delimiter: str, limits: ReadLimits) -> None:
        self.delimiter = delimiter
        self.limits = limits
        self.long_lines: dict[int, int] = {}
        self.buffer: list[str] = []
        self.header_names: list[str] = []
        self.line = 0  # last line read
        self.record_start = 1
        self._source: Iterator[str] = _bounded_lines(text, limits.max_line_chars, self.long_lines)
        self._reader = self._new_reader(1)

    def _new_reader(self, next_line: int) -> Iterator[list[str]]:
        csv.field_size_limit(max(self.limits.max_field_chars, 1))
        return csv.reader(
            self._lines(self._source, next_line), delimiter=self.delimiter, quotechar=QUOTE_CHAR, strict=True
        )

    def _lines(self, source: Iterator[str], next_line: int) -> Iterator[str]:
        number = next_line - 1
        buffer = self.buffer
        for line in source:
            number += 1
            self.line = number
            buffer.append(line)
            if number - self.record_start >= MAX_RECORD_LINES:
                raise _RunawayRecord
            yield line

    def _resume_after_first_line(self, first_index: int, start: int) -> str:
        """Drop a broken record's first line and re-read the lines after it as new records."""
        lines = self.buffer[first_index:]
        del self.buffer[first_index:]
        self._source = itertools.chain(lines[1:], self._source)
        self.line = start
        self.record_start = start + 1
        self._reader = self._new_reader(start + 1)
        return lines[0] if lines else ""

    def header(self) -> list[str] | None:
        """The first non-blank record, or None for a file without one."""
        while True:
            self.record_start = self.line + 1
            try:
                row = next(self._reader)
            except StopIteration:
                return None
            except (csv.Error, _RunawayRecord) as exc:
                raise ReadError(
                    f"the header row (line {self.record_start}) cannot be parsed: {exc}"
                ) from None
            if self.record_start in self.long_lines:
                raise ReadError(
                    self.limits.line_reason(self.record_start, self.long_lines[self.record_start])
                )
            del self.buffer[:]
            if row and any(field.strip() for field in row):
                self.record_start = self.line + 1
                self.header_names = [name.strip() for name in row]
                return row

    def _column(self, index: int) -> str:
        names = self.header_names
        return names[index] if 0 <= index < len(names) and names[index] else WHOLE_RECORD

    def _count_reject(self, line: int, found: int, fields: int, raw: str) -> Reject:
        if line in self.long_lines:
            return Reject(line, self.limits.line_reason(line, self.long_lines[line]), "", WHOLE_RECORD)
        reason = f"malformed record: expected {fields} fields (as in the header), found {found}"
        return Reject(line, reason, _clip(raw), WHOLE_RECORD)

    def _broken_first_line(self, start: int, raw: str, cause: str) -> Reject:
        """A record that does not parse: its first line, the column where it breaks, and why."""
        if start in self.long_lines:
            return Reject(start, self.limits.line_reason(start, self.long_lines[start]), "", WHOLE_RECORD)
        problem = _first_problem(raw, self.delimiter, self.limits.max_field_chars)
        if problem is None:
            column, what = WHOLE_RECORD, cause
        else:
            column, what = self._column(problem[0]), problem[1]
        reason = f"malformed record: {what} (column {column}); reading resumed on line {start + 1}"
        return Reject(start, reason, _clip(raw), column)

    def batches(self, fields: int, batch_rows: int) -> Iterator[_CsvChunk]:
        """Yield batches of up to ``batch_rows`` lines or records.

        A block of lines without any quote character is one record per line: field counts are checked by
        counting delimiters (fast path). A block with quotes is pushed back and split by ``csv``.
        """
        while True:
            lines = list(itertools.islice(self._source, batch_rows))
            if not lines:
                return
            text = "".join(lines)
            if QUOTE_CHAR not in text:
                yield self._plain_chunk(lines, text, fields)
                continue
            self._source = itertools.chain(lines, self._source)
            self.record_start = self.line + 1
            self._reader = self._new_reader(self.line + 1)
            chunk = self._quoted_chunk(fields, batch_rows)
            if chunk.records:
                yield chunk

    def _plain_chunk(self, lines: list[str], text: str, fields: int) -> _CsvChunk:
        first = self.line + 1
        self.line += len(lines)
        self.record_start = self.line + 1
        delimiter, expected = self.delimiter, fields - 1
        odd = [
            i
            for i, line in enumerate(lines)
            if line.count(delimiter) != expected or (len(line) <= 2 and not line.strip())
        ]
        odd.extend(
            n - first for n in self.long_lines if first <= n < first + len(lines) and n - first not in odd
        )
        if not odd:
            return _CsvChunk(np.arange(first, first + len(lines), dtype=np.int64), [], text, len(lines))
        skip = set(odd)
        rejects = [
            self._count_reject(first + i, lines[i].count(delimiter) + 1, fields, lines[i])
            for i in sorted(skip)
            if lines[i].strip()  # a blank line is not a record
        ]
        keep = [i for i in range(len(lines)) if i not in skip]
        good = "".join(lines[i] for i in keep)
        return _CsvChunk([first + i for i in keep], rejects, good, len(keep) + len(rejects))

    def _quoted_chunk(self, fields: int, batch_rows: int) -> _CsvChunk:
        """Up to ``batch_rows`` records split by ``csv`` (quoted fields may span lines)."""
        buffer = self.buffer
        del buffer[:]
        starts: list[int] = []
        rejects: list[Reject] = []
        first_index = 0  # where the current record's lines begin in the buffer
        while len(starts) < batch_rows:
            try:
                for row in self._reader:
                    start = self.record_start
                    end = self.line
                    self.record_start = end + 1
                    count = len(row)
                    if end > start and (count != fields or _odd_quotes(buffer, first_index)):
                        # A quote opened on ``start`` swallowed the following lines: reject that line only.
                        raw = self._resume_after_first_line(first_index, start)
                        rejects.append(self._broken_first_line(start, raw, "a quoted field is not closed"))
                        break  # continue with the fresh reader
                    if any(start <= n <= end for n in self.long_lines):
                        long_line = next(n for n in self.long_lines if start <= n <= end)
                        del buffer[first_index:]
                        reject = self._count_reject(long_line, count, fields, "")
                        rejects.append(Reject(start, reject.reason, "", WHOLE_RECORD))
                        continue
                    if count == fields:
                        starts.append(start)
                        first_index = len(buffer)
                        if len(starts) >= batch_rows:
                            break
                        continue
                    if count == 0 or (count == 1 and not row[0].strip()):  # a blank line is not a record
                        del buffer[first_index:]
                        continue
                    raw = "".join(buffer[first_index:])
                    del buffer[first_index:]
                    rejects.append(self._count_reject(start, count, fields, raw))
                else:
                    break  # end of file
            except (csv.Error, _RunawayRecord) as exc:
                start = self.record_start
                raw = self._resume_after_first_line(first_index, start)
                cause = (
                    f"a quoted field is not closed within {MAX_RECORD_LINES} lines"
                    if isinstance(exc, _RunawayRecord)
                    else f"not valid CSV ({exc})"
                )
                rejects.append(self._broken_first_line(start, raw, cause))
        text = "".join(buffer)
        del buffer[:]
        return _CsvChunk(starts, rejects, text, len(starts) + len(rejects))


@dataclass(frozen=True)
class _CsvChunk:
    starts: Sequence[int]  # line each good record starts on
    rejects: list[Reject]
    text: str  # the good records only, ready for a CSV parser
    records: int  # good records + rejects


def _odd_quotes(buffer: list[str], first_index: int) -> bool:
    return sum(line.count(QUOTE_CHAR) for line in buffer[first_index:]) % 2 == 1


def _parse_csv_text(
    text: str, fields: int, wanted: list[int], delimiter: str, rows: int
) -> dict[int, pa.Array]:
    """Columns ``wanted`` of well-formed CSV records (no header) as Arrow string arrays."""
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(fields)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, block_size=max(1 << 20, 2 * len(text))),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, quote_char=QUOTE_CHAR, double_quote=True, newlines_in_values=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={names[i]: pa.string() for i in wanted},
                include_columns=[names[i] for i in wanted],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        if table.num_rows == rows:
            return {i: table.column(names[i]) for i in wanted}
    except pa.ArrowInvalid:
        pass
    # pyarrow disagreed with Python's csv module on some quoting corner case: let csv decide (the records
    # were already split by csv, so its field limit is the largest value it can meet).
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    parsed = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=QUOTE_CHAR))
    parsed = [row for row in parsed if len(row) == fields]
    columns = list(zip(*parsed, strict=True)) if parsed else [() for _ in range(fields)]
    return {i: pa.array(columns[i], pa.string()) for i in wanted}


def _csv_file(
    stack: ExitStack, path: Path, config: ChannelConfig, where: str, batch_rows: int, limits: ReadLimits
) -> LandingFile:
    choice = detect_encoding(path, config.encoding, config.fallback_encodings)
    text = stack.enter_context(open_text(path, choice.encoding))
    records = _CsvRecords(text, config.delimiter, limits)
    header = _decoding(lambda: records.header(), path, choice)
    if header is None:
        landing = LandingFile(path, config, choice, iter(()))
        landing.notes.append("empty file: no header and no records")
        return landing
    layout = resolve_columns(header, config, where)
    landing = LandingFile(path, config, choice, iter(()), drift=list(layout.drift))
    landing.batches = _csv_batches(records, len(header), layout, landing, batch_rows)
    return landing


def _csv_batches(
    records: _CsvRecords, fields: int, layout: ColumnLayout, landing: LandingFile, batch_rows: int
) -> Iterator[SourceBatch]:
    config = landing.config
    wanted = sorted(set(layout.positions.values()))
    total = 0
    batches = records.batches(fields, batch_rows)
    while True:
        chunk = _decoding(lambda: next(batches, None), landing.path, landing.encoding)
        if chunk is None:
            break
        total += chunk.records
        rows = len(chunk.starts)
        parsed = _parse_csv_text(chunk.text, fields, wanted, config.delimiter, rows) if rows else {}
        by_name = {name: parsed[i] for name, i in layout.positions.items()} if rows else {}
        rejects = list(chunk.rejects)
        starts: Sequence[int] = chunk.starts
        found = _screen(by_name, rows, records.limits)
        if found:
            rejects.extend(_screened_rejects(found, starts, by_name))
            rejects.sort(key=lambda r: r.line)
            by_name = _without_rows(by_name, rows, [index for index, _, _ in found])
            drop = {index for index, _, _ in found}
            starts = [line for index, line in enumerate(starts) if index not in drop]
            rows = len(starts)
        hints = _TextHints(chunk.text.isascii(), _CONTROL_RE.search(chunk.text) is not None)
        columns = _contract_table(by_name, config.channel.all_columns, rows, hints)
        columns[SOURCE_LINE] = pa.array(starts, pa.int64())
        yield SourceBatch(pa.table(columns), rejects, chunk.records)
    if total == 0:
        landing.notes.append("header row only: no records")


def _decoding(step: Callable[[], _T], path: Path, choice: EncodingChoice | None) -> _T:
    """Run one read step, turning decode and decompression errors into ``ReadError``."""
    try:
        return step()
    except UnicodeDecodeError as exc:
        codec = choice.encoding if choice else "?"
        how = f"detected: {choice.reason}" if choice and choice.detected else "configured"
        raise ReadError(
            f"cannot decode the file as {codec} ({how}): {exc.reason} at byte {exc.start} of a read block; "
            "set `encoding:` for this channel in channels.yml"
        ) from None
    except (EOFError, zlib.error) as exc:
        raise ReadError(f"the compressed file is truncated or corrupt: {exc}") from None


# --- JSON lines -------------------------------------------------------------------------------------


# JSON's whitespace (RFC 8259): space, tab, newline, carriage return, as a SQL string.
_JSON_WHITESPACE = "' ' || chr(9) || chr(10) || chr(13)"


def _json_path(dotted: str) -> str:
    return "$" + "".join(f'."{part}"' for part in dotted.split("."))


def _json_structure(paths: list[str], where: str) -> dict[str, object]:
    """A ``json_transform`` structure reading every dotted path as VARCHAR (nested objects as dicts)."""
    root: dict[str, object] = {}
    for dotted in paths:
        node = root
        parts = dotted.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ReadError(
                    f"{where}: the mapping reads {dotted!r} inside {part!r}, which is also a value"
                )
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise ReadError(f"{where}: the mapping reads {dotted!r} as a value and as an object")
        node[parts[-1]] = "VARCHAR"
    return root


def _struct_path(ref: str, dotted: str) -> str:
    for part in dotted.split("."):
        ref = f"struct_extract({ref}, {sql_string(part)})"
    return ref


def _jsonl_extract_sql(config: ChannelConfig, where: str) -> str:
    """SQL over ``_lines(_source_line, doc)`` (valid JSON objects only): one row per nested element.

    Each document is parsed once by ``json_transform`` into a struct of VARCHARs (numbers and booleans
    as their JSON text, nested objects as JSON); the nested array is unnested with its 1-based position.
    Rows come in line and element order without a sort: the engine keeps DuckDB's default
    ``preserve_insertion_order``.
    """
    channel = config.channel
    structure = _json_structure([config.source_name(c.name) for c in channel.columns], where)
    item_structure = _json_structure([config.source_name(c.name) for c in channel.unnest_columns], where)
    unnest = config.unnest_source
    if unnest is not None:
        if unnest in structure:
            raise ReadError(f"{where}: the mapping reads {unnest!r} both as the nested array and as a value")
        structure[unnest] = [item_structure]
    spec = sql_string(json.dumps(structure))
    top = ",\n  ".join(
        f'{_struct_path("_doc", config.source_name(c.name))} as "{raw_column_name(c.name)}"'
        for c in channel.columns
    )
    parsed = f"select _source_line, doc as {RAW_RECORD}, json_transform(doc, {spec}) as _doc from _lines"
    if unnest is None:
        return f"select _source_line, {RAW_RECORD}, 0 as {ITEM_INDEX},\n  {top}\nfrom ({parsed})"
    item_cols = ",\n  ".join(
        f'{_struct_path(f"_items[{ITEM_INDEX}]", config.source_name(c.name))} as "{raw_column_name(c.name)}"'
        for c in channel.unnest_columns
    )
    return f"""
with parsed as ({parsed}),
orders as (
  select _source_line, {RAW_RECORD}, {_struct_path("_doc", unnest)} as _items,
  {top}
  from parsed
),
exploded as (
  select *,
    unnest(case when coalesce(len(_items), 0) = 0 then [0] else range(1, len(_items) + 1) end) as {ITEM_INDEX}
  from orders
)
select * exclude (_items),
  {item_cols}
from exploded
"""


def _json_keys_sql(config: ChannelConfig) -> tuple[str, set[str]]:
    """SQL listing the distinct key paths in ``_key_lines``, and the set of paths the contract knows.

    Listed: the top-level keys, the keys of each object the mapping reads a dotted path inside (where it is
    an object), and the keys of the nested array's object elements. Each line is parsed twice, once for
    its top-level keys and once by ``json_transform`` cutting out the top-level objects those paths start
    in (as JSON text); the keys further down are read from those (smaller) parts, not from the line again.
    """
    known: set[str] = set()
    parents: set[str] = set()
    for col in config.channel.columns:
        source = config.source_name(col.name)
        known.add(source)
        parts = source.split(".")
        for depth in range(1, len(parts)):
            parents.add(".".join(parts[:depth]))
    unnest = config.unnest_source
    roots = sorted({parent.split(".")[0] for parent in parents} | ({unnest} if unnest else set()))
    cut = sql_string(json.dumps(dict.fromkeys(roots, "JSON")))
    part = {root: f"_part_{i}" for i, root in enumerate(roots)}
    columns = ", ".join(f'struct_extract(_parts, {sql_string(root)}) as "{part[root]}"' for root in roots)
    parsed = (
        f"select json_keys(doc) as _top{', ' + columns if roots else ''} "
        f"from (select doc{f', json_transform(doc, {cut}) as _parts' if roots else ''} from _key_lines)"
    )
    selects = ["select distinct unnest(_top) as k, '' as parent from _parsed"]
    for parent in sorted(parents):
        root, _, rest = parent.partition(".")
        path = sql_string("$" + "".join(f'."{p}"' for p in rest.split(".")) if rest else "$")
        value = f'"{part[root]}"'
        selects.append(
            f"select distinct unnest(json_keys({value}, {path})) as k, {sql_string(parent)} as parent "
            f"from _parsed where json_type({value}, {path}) = 'OBJECT'"
        )
    if unnest is not None:
        known.add(unnest)
        for col in config.channel.unnest_columns:
            parts = config.source_name(col.name).split(".")
            for depth in range(1, len(parts) + 1):  # nested item fields: only their top key is listed
                known.add(f"{unnest}[].{'.'.join(parts[:depth])}")
        value = f'"{part[unnest]}"'
        selects.append(
            f"select distinct unnest(json_keys(item)) as k, {sql_string(unnest + '[]')} as parent from "
            f"(select unnest(json_extract({value}, '$[*]')) as item from _parsed "
            f"where json_type({value}) = 'ARRAY') "
            "where json_type(item) = 'OBJECT'"
        )
    known |= parents
    sql = " union ".join(selects)
    return (
        f"with _parsed as materialized ({parsed}) "
        f"select distinct case when parent = '' then k else parent || '.' || k end from ({sql}) order by 1",
        known,
    )


def _json_reject_reason(doc: str) -> str:
    try:
        value = json.loads(doc)
    except json.JSONDecodeError as exc:
        return f"malformed JSON: {exc.msg} (character {exc.pos + 1})"
    except RecursionError:
        return "malformed JSON: nested too deeply"
    return f"JSON value is a {type(value).__name__}, not an object"


def _iter_lines(
    text: TextIO, batch_rows: int, limits: ReadLimits, long_lines: dict[int, int]
) -> Iterator[tuple[list[int], list[str]]]:
    numbers: list[int] = []
    docs: list[str] = []
    for number, line in enumerate(_bounded_lines(text, limits.max_line_chars, long_lines), start=1):
        if not line.strip():
            continue
        numbers.append(number)
        docs.append(line.rstrip("\r\n"))
        if len(docs) >= batch_rows:
            yield numbers, docs
            numbers, docs = [], []
    if docs:
        yield numbers, docs


@contextmanager
def json_engine() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection that parses JSON lines; reuse it for the files one thread reads.

    Opening and closing a connection costs about as much as parsing a small file, so a caller reading many
    files passes one to ``open_landing_file`` (never to two threads at once).
    """
    import duckdb

    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        con.execute("set preserve_insertion_order = true")  # the extraction relies on it (no sort)
        yield con


def _jsonl_file(
    stack: ExitStack,
    path: Path,
    config: ChannelConfig,
    where: str,
    batch_rows: int,
    limits: ReadLimits,
    engine: duckdb.DuckDBPyConnection | None = None,
) -> LandingFile:
    choice = detect_encoding(path, config.encoding, config.fallback_encodings)
    text = stack.enter_context(open_text(path, choice.encoding))
    con = engine if engine is not None else stack.enter_context(json_engine())
    landing = LandingFile(path, config, choice, iter(()))
    landing.batches = _jsonl_batches(
        con, text, landing, where, max(1, int(batch_rows * JSONL_BATCH_SHARE)), limits
    )
    return landing


def _jsonl_batches(
    con: duckdb.DuckDBPyConnection,
    text: TextIO,
    landing: LandingFile,
    where: str,
    batch_rows: int,
    limits: ReadLimits,
) -> Iterator[SourceBatch]:
    config = landing.config
    extract_sql = _jsonl_extract_sql(config, where)
    keys_sql, known = _json_keys_sql(config)
    unknown_seen: set[str] = set()
    long_lines: dict[int, int] = {}
    lines = _iter_lines(text, batch_rows, limits, long_lines)
    total = 0
    first = True
    while True:
        item = _decoding(lambda: next(lines, None), landing.path, landing.encoding)
        if item is None:
            break
        numbers, docs = item
        total += len(docs)
        all_lines = pa.table({SOURCE_LINE: pa.array(numbers, pa.int64()), "doc": pa.array(docs, pa.string())})
        con.register("_all_lines", all_lines)
        flags = (
            con.sql(
                # valid JSON whose first character after JSON whitespace is "{": an object (one parse)
                f"select json_valid(doc) and starts_with(ltrim(doc, {_JSON_WHITESPACE}), '{{') as ok "
                "from _all_lines"
            )
            .to_arrow_table()
            .column("ok")
        )
        ok_lines = all_lines.filter(flags)
        rejects = [
            Reject(number, limits.line_reason(number, long_lines[number]), "", WHOLE_RECORD)
            if number in long_lines
            else Reject(number, _json_reject_reason(doc), _clip(doc), WHOLE_RECORD)
            for number, doc, good in zip(numbers, docs, flags.to_pylist(), strict=True)
            if not good
        ]
        con.unregister("_all_lines")
        con.register("_lines", ok_lines)
        if first and ok_lines.num_rows:
            _check_json_required(con, config, where)
            first = False
        con.register("_key_lines", ok_lines.slice(0, DRIFT_SAMPLE_LINES))
        for (path,) in con.execute(keys_sql).fetchall():
            if path not in known and path not in unknown_seen:
                unknown_seen.add(path)
                landing.drift.append(f"{where}: extra field {path!r} is not in the contract (not loaded)")
        con.unregister("_key_lines")
        extracted = con.sql(extract_sql).to_arrow_table()
        con.unregister("_lines")
        by_name = {c.name: extracted.column(raw_column_name(c.name)) for c in config.channel.all_columns}
        found = _screen(by_name, extracted.num_rows, limits)
        if found:  # a record with a bad value is quarantined whole (every row of its nested array)
            line_of = extracted.column(SOURCE_LINE)
            first: dict[int, tuple[int, str, str]] = {}
            for index, name, reason in found:
                first.setdefault(line_of[index].as_py(), (index, name, reason))
            raw = extracted.column(RAW_RECORD)
            rejects.extend(
                Reject(line, f"column {name}: {reason}", _clip(raw[index].as_py()), name)
                for line, (index, name, reason) in first.items()
            )
            rejects.sort(key=lambda r: r.line)
            keep = pc.invert(pc.is_in(line_of, pa.array(list(first), pa.int64())))
            extracted = extracted.filter(keep)
            by_name = {c.name: extracted.column(raw_column_name(c.name)) for c in config.channel.all_columns}
        columns = _contract_table(by_name, config.channel.all_columns, extracted.num_rows)
        columns[SOURCE_LINE] = extracted.column(SOURCE_LINE)
        columns[ITEM_INDEX] = extracted.column(ITEM_INDEX).cast(pa.int32())
        columns[RAW_RECORD] = extracted.column(RAW_RECORD)
        yield SourceBatch(pa.table(columns), rejects, len(docs))
    if total == 0:
        landing.notes.append("empty file: no JSON lines")


def _check_json_required(con: duckdb.DuckDBPyConnection, config: ChannelConfig, where: str) -> None:
    """Fail the file when a required field is absent from every record of the first batch (mapping error)."""
    channel = config.channel
    checks: list[tuple[str, str]] = []
    for col in channel.columns:
        if col.required:
            checks.append(
                (col.name, f"json_exists(doc, {sql_string(_json_path(config.source_name(col.name)))})")
            )
    unnest = config.unnest_source
    if unnest is not None:
        path = sql_string(_json_path(unnest))
        checks.append((channel.unnest or unnest, f"json_type(doc, {path}) = 'ARRAY'"))
    if not checks:
        return
    exprs = ", ".join(f"bool_or(coalesce({expr}, false))" for _, expr in checks)
    present = con.execute(f"select {exprs} from _lines").fetchall()[0]
    missing = [
        name if config.source_name(name) == name else f"{name} (source name {config.source_name(name)!r})"
        for (name, _), found in zip(checks, present, strict=True)
        if not found
    ]
    if missing:
        raise MissingColumnsError(
            f"{where}: required field(s) missing from every record of the first batch: {', '.join(missing)}. "
            "Fix the export or map the names in channels.yml"
        )


# --- Parquet ----------------------------------------------------------------------------------------


NOT_UTF8_REASON = "bytes that are not UTF-8 text"


def _as_text(
    values: pa.Array | pa.ChunkedArray, undecodable: list[int] | None = None
) -> pa.Array | pa.ChunkedArray:
    """A Parquet column as text: ISO-8601 timestamps, ``true``/``false``, numbers as written by Arrow.

    A binary value that is not UTF-8 becomes null and its row index goes into ``undecodable`` (the reader
    quarantines that row); without the list it raises ``ReadError``.
    """
    kind = values.type
    if pa.types.is_dictionary(kind):
        return _as_text(
            values.dictionary_decode() if isinstance(values, pa.Array) else values.combine_chunks(),
            undecodable,
        )
    if pa.types.is_string(kind):
        return values
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return values.cast(pa.string())
    if pa.types.is_null(kind):
        return pa.nulls(len(values), pa.string())
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            text = pc.strftime(values.cast(pa.timestamp(kind.unit, "UTC")), format="%Y-%m-%dT%H:%M:%SZ")
        else:
            text = pc.strftime(values, format="%Y-%m-%dT%H:%M:%S")
        return pc.replace_substring_regex(text, pattern=r"\.0+(Z?)$", replacement=r"\1")  # no ".000000"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        try:
            return values.cast(pa.string())
        except pa.ArrowInvalid:
            if undecodable is None:
                raise ReadError(f"a binary column holds {NOT_UTF8_REASON}") from None
        decoded: list[str | None] = []  # only a column that failed the vectorised cast is decoded here
        for index, raw in enumerate(values.to_pylist()):
            try:
                decoded.append(None if raw is None else raw.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(None)
                undecodable.append(index)
        return pa.array(decoded, pa.string())
    if pa.types.is_nested(kind):
        return pa.array(
            [None if v is None else json.dumps(v, default=str) for v in values.to_pylist()], pa.string()
        )
    return values.cast(pa.string())


def _parquet_file(
    stack: ExitStack, path: Path, config: ChannelConfig, where: str, batch_rows: int, limits: ReadLimits
) -> LandingFile:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        if isinstance(exc, PermissionError | FileNotFoundError):
            raise
        raise ReadError(f"not a readable Parquet file: {exc}") from None
    stack.callback(parquet.close)
    names = list(parquet.schema_arrow.names)
    layout = resolve_columns(names, config, where)
    landing = LandingFile(path, config, None, iter(()), drift=list(layout.drift))
    if parquet.metadata.num_rows == 0:
        landing.notes.append("no rows in the Parquet file")
    landing.batches = _parquet_batches(parquet, names, layout, config, batch_rows, limits)
    return landing


def _parquet_batches(
    parquet: object,
    names: list[str],
    layout: ColumnLayout,
    config: ChannelConfig,
    batch_rows: int,
    limits: ReadLimits,
) -> Iterator[SourceBatch]:
    wanted = [names[i] for i in sorted(set(layout.positions.values()))]
    row = 0
    batches = parquet.iter_batches(batch_size=batch_rows, columns=wanted)  # type: ignore[attr-defined]
    while True:
        try:
            batch = next(batches, None)
        except pa.ArrowException as exc:
            raise ReadError(f"the Parquet file is corrupt after row {row}: {exc}") from None
        if batch is None:
            return
        rows = batch.num_rows
        lines: Sequence[int] = np.arange(row + 1, row + rows + 1, dtype=np.int64)
        try:
            undecodable: dict[str, list[int]] = {name: [] for name in layout.positions}
            by_name = {
                name: _as_text(batch.column(names[i]), undecodable[name])
                for name, i in layout.positions.items()
            }
            found = _screen(by_name, rows, limits)
            screened = {index for index, _, _ in found}
            for name, indices in undecodable.items():
                for index in indices:
                    if index not in screened:
                        found.append((index, name, NOT_UTF8_REASON))
                        screened.add(index)
            found.sort()
            rejects = _screened_rejects(found, lines, by_name) if found else []
            if found:
                by_name = _without_rows(by_name, rows, [index for index, _, _ in found])
                lines = np.delete(np.asarray(lines), [index for index, _, _ in found])
            columns = _contract_table(by_name, config.channel.all_columns, len(lines))
        except pa.ArrowInvalid:  # e.g. a string column holding bytes that are not UTF-8
            raise ReadError(
                f"rows {row + 1}-{row + rows} cannot be read as text (a text column holds bytes that are "
                "not UTF-8)"
            ) from None
        columns[SOURCE_LINE] = pa.array(lines, pa.int64())
        row += rows
        yield SourceBatch(pa.table(columns), rejects, rows)


# --- entry point ------------------------------------------------------------------------------------


@contextmanager
def open_landing_file(
    path: Path,
    config: ChannelConfig,
    where: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    engine: duckdb.DuckDBPyConnection | None = None,
    limits: ReadLimits | None = None,
) -> Iterator[LandingFile]:
    """Open ``path`` as a landing file of ``config``'s channel; iterate ``.batches`` inside the block.

    ``where`` names the file in messages (the loader passes the path relative to the landing root).
    ``engine`` (``json_engine()``) is the DuckDB connection JSON lines are parsed in; without one the
    file opens its own. Raises ``ReadError`` (file cannot be read at all, before or during iteration)
    and ``OSError``.
    """
    label = where or str(path)
    limits = limits or ReadLimits()
    with ExitStack() as stack:
        try:
            if config.channel.format == "jsonl":
                landing = _jsonl_file(stack, path, config, label, batch_rows, limits, engine)
            else:
                readers = {"csv": _csv_file, "parquet": _parquet_file}
                landing = readers[config.channel.format](stack, path, config, label, batch_rows, limits)
        except EncodingError as exc:
            raise ReadError(f"{label}: {exc}") from None
        yield landing
