"""Write an evaluation set's records as landing files, in the format the landing contract gives each channel.

A frame holds one row per raw row with the contract's column names (dotted names for nested JSON fields;
for a channel with a nested array, the array's columns too, one row per element). Columns the contract does
not know are refused, so a set cannot carry a field the pipeline would never read; required columns must be
present. DuckDB writes the file: CSV with the channel's delimiter, JSON lines with nested objects and the
array grouped per parent row, or Parquet, every value as text.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from customer360.landing.contract import Channel, get_channel
from customer360.sql_strings import sql_string

EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}


class LandingFrameError(ValueError):
    """A frame does not fit its channel's landing contract."""


def landing_path(landing_root: Path, channel: Channel, day: date, stem: str) -> Path:
    """``<landing root>/<channel>/<YYYY-MM-DD>/<stem>.<ext>``."""
    return Path(landing_root) / channel.name / day.isoformat() / f"{stem}.{EXTENSIONS[channel.format]}"


def check_frame(frame: pd.DataFrame, channel: Channel) -> None:
    known = {c.name for c in channel.all_columns}
    unknown = sorted(set(frame.columns) - known)
    if unknown:
        raise LandingFrameError(f"{channel.name}: columns {unknown} are not in the landing contract")
    missing = [name for name in channel.required_columns if name not in frame.columns]
    if missing:
        raise LandingFrameError(f"{channel.name}: required columns {missing} are missing")
    empty = [name for name in channel.required_columns if frame[name].isna().any()]
    if empty:
        raise LandingFrameError(f"{channel.name}: required columns {empty} have empty values")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(name: str) -> str:
    return f"cast({_ident(name)} as varchar)"


def _nested_select(names: list[str]) -> list[str]:
    """Select expressions that nest dotted names (``customer.email``) into structs, in contract order."""
    expressions: list[str] = []
    structs: dict[str, list[str]] = {}
    for name in names:
        if "." in name:
            parent, child = name.split(".", 1)
            if parent not in structs:
                structs[parent] = []
                expressions.append(parent)
            structs[parent].append(f"{_ident(child)}: {_text(name)}")
        else:
            expressions.append(name)
    return [
        f"{{{', '.join(structs[e])}}} as {_ident(e)}" if e in structs else f"{_text(e)} as {_ident(e)}"
        for e in expressions
    ]


def write_landing(frame: pd.DataFrame, channel_name: str, landing_root: Path, day: date, stem: str) -> Path:
    """Write ``frame`` as one landing file of ``channel_name`` for ``day``; returns its path."""
    channel = get_channel(channel_name)
    check_frame(frame, channel)
    path = landing_path(landing_root, channel, day, stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = [c.name for c in channel.columns if c.name in frame.columns]
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        if channel.format == "csv":
            columns = ", ".join(f"{_text(n)} as {_ident(n)}" for n in ordered)
            con.execute(
                f"copy (select {columns} from frame) to {sql_string(path)} "
                f"(format csv, header true, delimiter {sql_string(channel.delimiter)})"
            )
        elif channel.format == "parquet":
            columns = ", ".join(f"{_text(n)} as {_ident(n)}" for n in ordered)
            con.execute(f"copy (select {columns} from frame) to {sql_string(path)} (format parquet)")
        else:
            _write_jsonl(con, frame, channel, ordered, path)
    finally:
        con.close()
    return path


def _write_jsonl(con, frame: pd.DataFrame, channel: Channel, ordered: list[str], path: Path) -> None:
    parent = ", ".join(_nested_select(ordered))
    if not channel.unnest:
        con.execute(f"copy (select {parent} from frame) to {sql_string(path)} (format json)")
        return
    element_names = [c.name for c in channel.unnest_columns if c.name in frame.columns]
    element = ", ".join(f"{_ident(n)}: {_text(n)}" for n in element_names)
    order_lines = "cast(line_number as integer)" if "line_number" in element_names else "row_"
    group_by = ", ".join(_ident(n) for n in ordered)
    con.execute(
        f"copy (select {parent}, list({{{element}}} order by {order_lines}) as {_ident(channel.unnest)} "
        f"from (select *, row_number() over () as row_ from frame) group by {group_by} order by min(row_)) "
        f"to {sql_string(path)} (format json)"
    )
