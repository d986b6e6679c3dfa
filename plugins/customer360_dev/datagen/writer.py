"""Serialise a day's batch in the channel's landing format: CSV, JSON lines or Parquet.

CSV and JSON lines are built as whole Arrow string columns (one line per element) and written from the
Arrow buffer in one go; Parquet is written by pyarrow with every contract column as text. Output bytes
depend only on the batch, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from customer360.landing.contract import Channel
from customer360_dev.datagen.batch import Batch
from customer360_dev.datagen.dirt import DIRT_KINDS
from customer360_dev.datagen.formatting import concat, csv_field, json_object, json_raw, json_string

FILE_EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}
NUMBER_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
PARQUET_COMPRESSION = "zstd"


def landing_file(out: Path, channel: Channel, day_text: str) -> Path:
    """``<out>/<channel>/<YYYY-MM-DD>/<channel>_<YYYY-MM-DD>.<ext>``."""
    return out / channel.name / day_text / f"{channel.name}_{day_text}.{FILE_EXTENSIONS[channel.format]}"


def _joined_bytes(lines: pa.Array) -> bytes:
    """Concatenate an Arrow string column's values (each already ending in a newline) into bytes."""
    if len(lines) == 0:
        return b""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    lines = pc.cast(lines, pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    data = lines.buffers()[2]
    return data.to_pybytes()[int(offsets[0]) : int(offsets[-1])]


def render_csv(batch: Batch, channel: Channel) -> bytes:
    delimiter = channel.delimiter
    header = delimiter.join(c.name for c in channel.columns) + "\n"
    if not batch.n_records:
        return header.encode(channel.encoding)
    fields = [csv_field(batch.columns[c.name], delimiter) for c in channel.columns]
    lines = concat(pc.binary_join_element_wise(*fields, delimiter), "\n")
    return header.encode(channel.encoding) + _joined_bytes(lines)


def _json_literal(values: pa.Array, numeric: bool) -> pa.Array:
    if not numeric:
        return json_string(values)
    is_number = pc.match_substring_regex(values, pattern=NUMBER_PATTERN)
    return pc.if_else(pc.fill_null(is_number, False), json_raw(values), json_string(values))


def render_jsonl(batch: Batch, channel: Channel) -> bytes:
    """One JSON object per record: dotted columns become nested objects, the unnest field an array."""
    if not batch.n_records:
        return b""
    numeric = {c.name for c in channel.all_columns if c.type in ("int", "decimal")}
    fields: list[tuple[str, pa.Array]] = []
    nested: dict[str, list[tuple[str, pa.Array]]] = {}
    for column in channel.columns:
        literal = _json_literal(batch.columns[column.name], column.name in numeric)
        if "." in column.name:
            parent, child = column.name.split(".", 1)
            if parent not in nested:
                nested[parent] = []
                fields.append((parent, pa.nulls(0)))  # placeholder keeps the key order
            nested[parent].append((child, literal))
        else:
            fields.append((column.name, literal))
    rendered = [(key, json_object(nested[key]) if key in nested else value) for key, value in fields]
    if channel.unnest:
        line_fields = [
            (c.name, _json_literal(batch.lines[c.name], c.name in numeric)) for c in channel.unnest_columns
        ]
        line_objects = json_object(line_fields)
        offsets = np.concatenate([[0], np.cumsum(batch.lines_per_record())]).astype(np.int32)
        grouped = pa.ListArray.from_arrays(pa.array(offsets), line_objects)
        rendered.append((channel.unnest, concat("[", pc.binary_join(grouped, ","), "]")))
    objects = json_object(rendered)
    malformed = batch.invalid_kind == DIRT_KINDS.index("malformed_json")
    if malformed.any():
        objects = _break_json(objects, np.flatnonzero(malformed))
    return _joined_bytes(concat(objects, "\n"))


def _break_json(objects: pa.Array, rows: np.ndarray) -> pa.Array:
    """Malformed lines: cut off mid-object, or with a stray unquoted key."""
    texts = objects.to_pylist()
    for i, row in enumerate(rows.tolist()):
        text = texts[row]
        texts[row] = (
            text[: max(10, len(text) // 2)] if i % 2 == 0 else re.sub(r'^\{"order_id"', "{order_id", text)
        )
    return pa.array(texts, pa.string())


def render_parquet(batch: Batch, channel: Channel) -> pa.Table:
    names = [c.name for c in channel.columns]
    if not batch.n_records:
        return pa.table({n: pa.array([], pa.string()) for n in names})
    return pa.table({n: pc.cast(batch.columns[n], pa.string()) for n in names})


def write_batch(path: Path, batch: Batch, channel: Channel) -> int:
    """Write the batch to ``path`` in the channel's format; returns the file size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if channel.format == "csv":
        path.write_bytes(render_csv(batch, channel))
    elif channel.format == "jsonl":
        path.write_bytes(render_jsonl(batch, channel))
    else:
        pq.write_table(render_parquet(batch, channel), path, compression=PARQUET_COMPRESSION)
    return path.stat().st_size
