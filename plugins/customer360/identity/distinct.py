"""Apply a normaliser once per distinct value: the same raw phone or email appears many times."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc


def apply_by_distinct(
    values: pa.Array | pa.ChunkedArray, normalise: Callable[[pa.Array], pa.Table]
) -> pa.Table:
    """Run ``normalise`` on the distinct values only and spread its result back to every row.

    ``normalise`` receives an array of distinct values (nulls included at most once) and returns a table
    with one row per value, in the same order.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    distinct = pc.unique(values)
    result = normalise(distinct)
    if result.num_rows != len(distinct):
        raise ValueError(f"normaliser returned {result.num_rows} rows for {len(distinct)} distinct values")
    positions = pc.index_in(values, value_set=distinct, skip_nulls=False)
    return result.take(positions)


def as_string_array(values: object) -> pa.Array:
    """Accept a list, pandas Series, Arrow array or chunked array of text and return a string Arrow array."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        if pa.types.is_large_string(values.type) or pa.types.is_string_view(values.type):
            return values.cast(pa.string())
        if pa.types.is_null(values.type):
            return pa.nulls(len(values), pa.string())
        if not pa.types.is_string(values.type):
            return values.cast(pa.string())
        return values
    return pa.array(values, type=pa.string(), from_pandas=True)
