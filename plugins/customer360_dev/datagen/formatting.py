"""Vectorised text formatting for generated records: Arrow compute over whole columns, no row loops.

Helpers turn numpy numbers and datetimes into the text the landing contract expects (ISO-8601
timestamps, ``12.50`` decimals, national phone formats) and into CSV fields and JSON literals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# A phone template is a sequence of literal text and (start, stop) slices of the national significant number.
PhoneTemplate = tuple[str | tuple[int, int | None], ...]

SECONDS_PER_DAY = 86_400


def concat(*parts: pa.Array | str) -> pa.Array:
    """Join columns and literals element-wise; a null in any column part gives null."""
    return pc.binary_join_element_wise(*parts, "")


def strings(values: Sequence[str | None] | np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.string())


def take(values: pa.Array, indices: np.ndarray) -> pa.Array:
    return values.take(pa.array(indices, type=pa.int64()))


def with_nulls(values: pa.Array, null_mask: np.ndarray) -> pa.Array:
    """Return ``values`` with the positions in ``null_mask`` set to null."""
    if not null_mask.any():
        return values
    return pc.if_else(pa.array(null_mask), pa.scalar(None, values.type), values)


def replace_where(values: pa.Array, mask: np.ndarray, replacement: pa.Array | str | None) -> pa.Array:
    """Put ``replacement`` (a column of the same length, a literal or None) where ``mask`` is true."""
    if not mask.any():
        return values
    if replacement is None or isinstance(replacement, str):
        replacement = pa.scalar(replacement, pa.string())
    return pc.if_else(pa.array(mask), replacement, values)


def int_text(values: np.ndarray, width: int = 0) -> pa.Array:
    text = pc.cast(pa.array(values.astype(np.int64)), pa.string())
    return pc.utf8_lpad(text, width, padding="0") if width else text


def money_text(cents: np.ndarray) -> pa.Array:
    """Integer cents to ``"12.50"`` (non-negative amounts)."""
    cents = cents.astype(np.int64)
    return concat(int_text(cents // 100), ".", int_text(cents % 100, 2))


def comma_money_text(cents: np.ndarray) -> pa.Array:
    """Integer cents to ``"12,50"``: the European decimal mark the contract rejects."""
    cents = cents.astype(np.int64)
    return concat(int_text(cents // 100), ",", int_text(cents % 100, 2))


def to_datetime64(day_numbers: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 plus seconds of the day, as ``datetime64[s]``."""
    total = day_numbers.astype(np.int64) * SECONDS_PER_DAY + seconds.astype(np.int64)
    return total.astype("datetime64[s]")


def iso_text(moments: np.ndarray, suffix: str | pa.Array = "", sep: str = "T") -> pa.Array:
    """``datetime64[s]`` to ``YYYY-MM-DDTHH:MM:SS`` followed by ``suffix`` (``Z``, an offset or nothing)."""
    # Arrow's cast writes "YYYY-MM-DD HH:MM:SS" and is an order of magnitude faster than strftime.
    text = pc.cast(pa.array(moments.astype("datetime64[s]")), pa.string())
    if sep != " ":
        text = pc.replace_substring(text, pattern=" ", replacement=sep)
    if isinstance(suffix, str) and not suffix:
        return text
    return concat(text, suffix)


def date_text(day_numbers: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(day_numbers.astype("datetime64[D]")), pa.string())


def _last_sunday(year: np.ndarray, month: int) -> np.ndarray:
    """Day number of the last Sunday of ``month`` in each ``year`` (month is 3 or 10: 31 days)."""
    last = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1)
    last_day = (last + 1).astype("datetime64[D]") - 1
    days = last_day.astype(np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday == 0
    return days - ((weekday - 6) % 7)


def amsterdam_offset_hours(local_moments: np.ndarray) -> np.ndarray:
    """UTC offset (1 or 2) of Europe/Amsterdam wall-clock times (EU summer time rules).

    Summer time runs from 02:00 on the last Sunday of March until 02:00 (winter time) on the last Sunday
    of October; the repeated October hour 02:00-03:00 is read as winter time.
    """
    seconds = local_moments.astype("datetime64[s]").astype(np.int64)
    years = local_moments.astype("datetime64[Y]").astype(np.int64) + 1970
    start = _last_sunday(years, 3) * SECONDS_PER_DAY + 2 * 3600
    end = _last_sunday(years, 10) * SECONDS_PER_DAY + 2 * 3600
    summer = (seconds >= start) & (seconds < end)
    return np.where(summer, 2, 1).astype(np.int8)


def skip_spring_gap(local_moments: np.ndarray) -> np.ndarray:
    """Move wall-clock times that do not exist in Amsterdam (the spring-forward hour) one hour on."""
    seconds = local_moments.astype("datetime64[s]").astype(np.int64)
    years = local_moments.astype("datetime64[Y]").astype(np.int64) + 1970
    gap_start = _last_sunday(years, 3) * SECONDS_PER_DAY + 2 * 3600
    in_gap = (seconds >= gap_start) & (seconds < gap_start + 3600)
    return np.where(in_gap, seconds + 3600, seconds).astype("datetime64[s]")


def offset_text(hours: np.ndarray) -> pa.Array:
    """Whole-hour UTC offsets to ``+01:00`` / ``+08:00`` / ``+00:00`` text."""
    sign = np.where(hours < 0, "-", "+")
    return concat(strings(sign), int_text(np.abs(hours), 2), ":00")


def fill_phone(nsn: pa.Array, template: PhoneTemplate) -> pa.Array:
    """Render national significant numbers through a template of literals and digit slices."""
    parts: list[pa.Array | str] = []
    for piece in template:
        if isinstance(piece, str):
            parts.append(piece)
        else:
            start, stop = piece
            parts.append(pc.utf8_slice_codeunits(nsn, start, stop if stop is not None else 64))
    return concat(*parts)


def ascii_fold(values: pa.Array) -> pa.Array:
    """Drop diacritics (``Müller`` → ``Muller``, ``François`` → ``Francois``), ``ß`` → ``ss``."""
    decomposed = pc.utf8_normalize(values, form="NFD")
    folded = pc.replace_substring_regex(decomposed, pattern=r"\p{Mn}", replacement="")
    return pc.replace_substring(folded, pattern="ß", replacement="ss")


def json_string(values: pa.Array) -> pa.Array:
    """JSON literal for each value: a quoted, escaped string, or ``null``."""
    escaped = pc.replace_substring(values, pattern="\\", replacement="\\\\")
    escaped = pc.replace_substring(escaped, pattern='"', replacement='\\"')
    quoted = concat('"', escaped, '"')
    return pc.fill_null(quoted, "null")


def json_raw(values: pa.Array) -> pa.Array:
    """JSON literal for text that already is a JSON number; null stays ``null``."""
    return pc.fill_null(values, "null")


def json_object(fields: Sequence[tuple[str, pa.Array]]) -> pa.Array:
    """Build ``{"a":<lit>,"b":<lit>}`` per row from (key, JSON-literal column) pairs."""
    parts: list[pa.Array | str] = []
    for i, (key, literal) in enumerate(fields):
        parts.append(("{" if i == 0 else ",") + f'"{key}":')
        parts.append(literal)
    parts.append("}")
    return concat(*parts)


def csv_field(values: pa.Array, delimiter: str) -> pa.Array:
    """CSV text of a field: quoted (quotes doubled) only when needed, null as an empty field."""
    values = pc.cast(values, pa.string())
    needs_quotes = pc.match_substring(values, delimiter)
    for special in ('"', "\n", "\r"):
        needs_quotes = pc.or_(needs_quotes, pc.match_substring(values, special))
    quoted = concat('"', pc.replace_substring(values, pattern='"', replacement='""'), '"')
    return pc.fill_null(pc.if_else(needs_quotes, quoted, values), "")


def choose_text(
    rng: np.random.Generator, options: Sequence[str], n: int, p: Sequence[float] | None = None
) -> pa.Array:
    """``n`` draws from ``options`` as an Arrow string column."""
    index = rng.choice(len(options), size=n, p=p)
    return take(strings(list(options)), index)
