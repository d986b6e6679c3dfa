"""Row checks of the landing contract, as one vectorised DuckDB expression per batch.

``row_problems_sql`` builds, for a row of ``_ingest_batch`` (every contract column a nullable VARCHAR) plus
the typed values of ``parsed_columns_sql`` and the row's file columns (``LOAD_DATE``, ``LATE_BOUND``: one
statement checks the rows of many files), the reasons it fails joined by '; ' ('' when it passes) and
the first failing column. Values are only ever column
references and bound parameters (``$tz``, ``$future_bound``, ...): nothing from the data is spliced into SQL.

Checks, in contract column order:

- required: not empty;
- ``int`` (``-12``), ``decimal`` (``12.50``, ``-3``, ``1e-3``; ``.`` is the decimal mark), ``bool``
  (true/false, 1/0, yes/no, y/n, any case), ``date`` (``YYYY-MM-DD``), ``timestamp`` (ISO-8601
  ``YYYY-MM-DD[T ]HH:MM[:SS[.f]]``,
  with ``Z`` or ``±HH[:MM]`` or without an offset, then read in the channel's time zone), ``enum`` (one of the
  allowed values, any case);
- ``min_value`` / ``max_value`` for numbers;
- the channel's event time: not on or after the start of ``as_of_date + 2 days`` (UTC), i.e. no more than a
  day past the end of the logical date; not before 1900-01-01; and not more than ``late_arrival_days`` before
  the file's landing date ("late arrival beyond look-back window").

For channels with a nested array (web_orders) each row is one element: order-level checks run on the
first element's row only (``_item_index <= 1``), element checks on every element with a "line item N"
prefix, and a record with no elements (``_item_index = 0``) fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from customer360.landing.contract import Column, raw_column_name
from customer360.landing.mapping import ChannelConfig
from customer360.landing.readers import ITEM_INDEX
from customer360.sql_strings import sql_string

SHOWN_VALUE_CHARS = 80
EARLIEST_EVENT = date(1900, 1, 1)

_INT_RE = r"[+-]?[0-9]+"
_DECIMAL_RE = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_DATE_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TS_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
_OFFSET_RE = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)"
BOOL_VALUES = ("true", "false", "1", "0", "yes", "no", "y", "n")
# Columns every checked row carries from its file: the landing date (DATE) and the earliest event instant
# the file may hold (TIMESTAMPTZ, ``CheckWindow.late_bound``).
LOAD_DATE = "_load_date"
LATE_BOUND = "_late_bound"


@dataclass(frozen=True)
class CheckWindow:
    """The time bounds of one run's checks: bound as SQL parameters, or per file (``late_bound``)."""

    as_of_date: date
    late_arrival_days: int
    timezone: str

    @property
    def future_bound(self) -> date:
        return self.as_of_date + timedelta(days=2)

    def late_bound(self, load_date: date) -> datetime:
        """Start (UTC) of the earliest day a file landed on ``load_date`` may hold events of."""
        return datetime.combine(load_date - timedelta(days=self.late_arrival_days), time(), tzinfo=UTC)

    def params(self) -> dict[str, object]:
        return {
            "tz": self.timezone,
            "future_bound": f"{self.future_bound.isoformat()} 00:00:00+00",
            "earliest_event": f"{EARLIEST_EVENT.isoformat()} 00:00:00+00",
        }


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _shown(ref: str) -> str:
    """SQL: the value quoted for a message, cut to ``SHOWN_VALUE_CHARS`` characters."""
    n = SHOWN_VALUE_CHARS
    return f"'''' || (case when length({ref}) > {n} then left({ref}, {n}) || '…' else {ref} end) || ''''"


def _number(value: float) -> str:
    return f"{value:g}"


def timestamp_instant_sql(ref: str) -> str:
    """SQL: the instant (TIMESTAMPTZ) of an ISO-8601 text; without an offset it is read in ``$tz``."""
    return (
        f"case when regexp_full_match({ref}, '{_TS_RE}{_OFFSET_RE}') then try_cast({ref} as timestamptz) "
        f"when regexp_full_match({ref}, '{_TS_RE}') then timezone($tz, try_cast({ref} as timestamp)) end"
    )


def _parsed_name(col: Column) -> str:
    return _ident(f"_parsed__{raw_column_name(col.name)}")


def parsed_columns_sql(config: ChannelConfig) -> list[str]:
    """SQL select items computing each typed value once: instants for timestamps, doubles for numbers."""
    items: list[str] = []
    for col in config.channel.all_columns:
        ref = _ident(raw_column_name(col.name))
        if col.type == "timestamp":
            items.append(f"{timestamp_instant_sql(ref)} as {_parsed_name(col)}")
        elif col.type in ("int", "decimal"):
            pattern = _INT_RE if col.type == "int" else _DECIMAL_RE
            cast = "bigint" if col.type == "int" else "double"
            items.append(
                f"case when regexp_full_match({ref}, '{pattern}') then try_cast({ref} as {cast}) end "
                f"as {_parsed_name(col)}"
            )
    return items


def _type_problem(col: Column, ref: str) -> tuple[str, str] | None:
    """(SQL condition that a non-null value is malformed, SQL reason) for the column's logical type."""
    parsed = _parsed_name(col)
    if col.type == "int":
        return f"{parsed} is null", "' is not a whole number'"
    if col.type == "decimal":
        return f"{parsed} is null", "' is not a decimal number (digits with ''.'' as the decimal mark)'"
    if col.type == "bool":
        allowed = ", ".join(sql_string(v) for v in BOOL_VALUES)
        return f"lower({ref}) not in ({allowed})", "' is not a boolean (true/false, 1/0, yes/no, y/n)'"
    if col.type == "date":
        return (
            f"not coalesce(regexp_full_match({ref}, '{_DATE_RE}') "
            f"and try_cast({ref} as date) is not null, false)",
            "' is not a date (YYYY-MM-DD)'",
        )
    if col.type == "timestamp":
        return (
            f"{parsed} is null",
            "' is not an ISO-8601 timestamp (YYYY-MM-DDTHH:MM:SS, optionally with Z or +HH:MM)'",
        )
    if col.type == "enum":
        allowed = ", ".join(sql_string(v.lower()) for v in col.allowed)
        shown = ", ".join(col.allowed)
        return f"lower({ref}) not in ({allowed})", sql_string(f" is not one of: {shown}")
    return None


def _column_checks(col: Column, config: ChannelConfig, window: CheckWindow) -> list[tuple[str, str]]:
    """(condition, reason) pairs in SQL for one column, over ``_ingest_batch`` plus ``parsed_columns_sql``."""
    ref = _ident(raw_column_name(col.name))
    parsed = _parsed_name(col)
    label = sql_string(f"column {col.name}: ")
    checks: list[tuple[str, str]] = []
    if col.required:
        checks.append((f"{ref} is null", f"{label} || 'required value is empty'"))
    problem = _type_problem(col, ref)
    if problem is None:
        return checks
    malformed, why = problem
    checks.append((f"{ref} is not null and {malformed}", f"{label} || {_shown(ref)} || {why}"))
    if col.type in ("int", "decimal"):
        if col.min_value is not None:
            checks.append(
                (
                    f"{parsed} < {col.min_value!r}",
                    f"{label} || {_shown(ref)} || "
                    + sql_string(" is below the minimum " + _number(col.min_value)),
                )
            )
        if col.max_value is not None:
            checks.append(
                (
                    f"{parsed} > {col.max_value!r}",
                    f"{label} || {_shown(ref)} || "
                    + sql_string(" is above the maximum " + _number(col.max_value)),
                )
            )
    if col.type == "timestamp" and col.name == config.channel.event_time:
        future = window.future_bound - timedelta(days=1)
        checks.append(
            (
                f"{parsed} >= cast($future_bound as timestamptz)",
                f"{label} || {_shown(ref)} || "
                + sql_string(
                    f" is in the future: after {future.isoformat()} (as_of_date {window.as_of_date} + 1 day)"
                ),
            )
        )
        checks.append(
            (
                f"{parsed} < cast($earliest_event as timestamptz)",
                f"{label} || {_shown(ref)} || {sql_string(' is before ' + EARLIEST_EVENT.isoformat())}",
            )
        )
        checks.append(
            (
                f"{parsed} < {LATE_BOUND}",
                sql_string(f"late arrival beyond look-back window: column {col.name} ")
                + f" || {_shown(ref)} || "
                + sql_string(
                    f" is more than {window.late_arrival_days} days (late_arrival_days) before the file date "
                )
                + f" || strftime({LOAD_DATE}, '%Y-%m-%d')",
            )
        )
    return checks


@dataclass(frozen=True)
class RowProblems:
    """SQL expressions over one row: all reasons joined by '; ' ('' when the row passes), first column."""

    reason: str
    column: str


def row_problems_sql(config: ChannelConfig, window: CheckWindow) -> RowProblems:
    """The checks of the module docstring as two SQL expressions (see ``RowProblems``)."""
    channel = config.channel
    nested = channel.unnest is not None
    reasons: list[str] = []
    columns: list[str] = []

    def add(column: str, condition: str, reason: str, gate: str = "", prefix: str = "") -> None:
        when = f"{gate} and ({condition})" if gate else condition
        reasons.append(f"case when {when} then {prefix}{reason} end")
        columns.append(f"case when {when} then {sql_string(column)} end")

    for col in channel.columns:
        for condition, reason in _column_checks(col, config, window):
            add(col.name, condition, reason, gate=f"{ITEM_INDEX} <= 1" if nested else "")
    if nested:
        unnest = channel.unnest or ""
        add(
            unnest,
            f"{ITEM_INDEX} = 0",
            sql_string(
                f"record has no {unnest} (field {config.unnest_source!r} is missing, empty or not an array)"
            ),
        )
        prefix = f"'line item ' || {ITEM_INDEX} || ': ' || "
        for col in channel.unnest_columns:
            for condition, reason in _column_checks(col, config, window):
                add(col.name, condition, reason, gate=f"{ITEM_INDEX} >= 1", prefix=prefix)
    if not reasons:
        return RowProblems("''", "null")
    return RowProblems(
        "concat_ws('; ', " + ", ".join(reasons) + ")",
        "coalesce(" + ", ".join(columns) + ")",
    )


def record_hash_sql(config: ChannelConfig) -> str:
    """SQL: md5 over the contract columns (unit separator between values, record separator for null)."""
    parts = ", ".join(
        f"coalesce({_ident(raw_column_name(c.name))}, chr(30))" for c in config.channel.all_columns
    )
    return f"md5(concat_ws(chr(31), {parts}))"


def record_json_sql(config: ChannelConfig) -> str:
    """SQL: the record's contract fields as a JSON object text (for the quarantine)."""
    pairs = ", ".join(
        f"{sql_string(c.name)}, {_ident(raw_column_name(c.name))}" for c in config.channel.all_columns
    )
    return f"json_object({pairs})::varchar"
