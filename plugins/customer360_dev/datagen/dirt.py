"""Dirt: invalid values the landing contract rejects, and exact duplicate rows.

``spoil`` puts one invalid value into a share of the records (unparsable timestamps and dates, negative
quantities, ``12,50``-style or non-numeric decimals, unknown enum values, empty required fields, booleans
and scores out of range, malformed JSON lines) and marks each spoiled record with its kind and the raw
rows it spoils, so the generation stats reconcile with what ingest quarantines. ``duplicate`` copies a
share of the records right after themselves (the same line twice).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360_dev.datagen.batch import Batch
from customer360_dev.datagen.formatting import comma_money_text, take

EXACT_DUPLICATE_SHARE = 0.003

DIRT_KINDS: tuple[str, ...] = (
    "bad_timestamp",
    "bad_date",
    "bad_enum",
    "empty_required",
    "negative_quantity",
    "bad_decimal",
    "bad_bool",
    "out_of_range",
    "bad_integer",
    "malformed_json",
)

BAD_TIMESTAMPS = ("2025-02-30T10:00:00", "31/13/2025 10:00", "not a date", "2025-13-01T00:00:00", "24:61")
BAD_DATES = ("1985-02-30", "31.13.1985", "unknown")
BAD_BOOLS = ("maybe", "ja", "2")
BAD_INTEGERS = ("12k", "1.5k", "many")
UNKNOWN_ENUMS: dict[str, tuple[str, ...]] = {
    "status": ("shipped", "refunded", "on hold"),
    "transaction_type": ("exchange", "refund"),
    "gender": ("male", "v", "?"),
    "channel": ("fax", "whatsapp"),
    "event_type": ("bounce", "impression"),
    "survey_type": ("ces", "exit"),
}
OUT_OF_RANGE: dict[str, tuple[str, ...]] = {
    "satisfaction_score": ("0", "6", "10"),
    "rating": ("0", "9"),
    "nps_score": ("11", "-1"),
    "csat_score": ("0", "7"),
}

# For each channel: (kind, column, is_line_level). Line-level columns live in the web order lines.
CHANNEL_DIRT: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "crm_contacts": (
        ("bad_timestamp", "updated_at", False),
        ("bad_date", "birth_date", False),
        ("bad_enum", "gender", False),
        ("empty_required", "updated_at", False),
        ("bad_bool", "email_opt_in", False),
    ),
    "web_orders": (
        ("bad_timestamp", "ordered_at", False),
        ("bad_enum", "status", False),
        ("empty_required", "sku", True),
        ("negative_quantity", "quantity", True),
        ("bad_decimal", "unit_price", True),
        ("malformed_json", "", False),
    ),
    "pos_transactions": (
        ("bad_timestamp", "transacted_at", False),
        ("bad_enum", "transaction_type", False),
        ("empty_required", "sku", False),
        ("negative_quantity", "quantity", False),
        ("bad_decimal", "unit_price", False),
    ),
    "support_tickets": (
        ("bad_timestamp", "opened_at", False),
        ("bad_enum", "channel", False),
        ("empty_required", "category", False),
        ("bad_bool", "is_complaint", False),
        ("out_of_range", "satisfaction_score", False),
    ),
    "marketing_events": (
        ("bad_timestamp", "event_at", False),
        ("bad_enum", "event_type", False),
        ("out_of_range", "rating", False),
        ("bad_integer", "followers", False),
    ),
    "surveys": (
        ("bad_timestamp", "submitted_at", False),
        ("bad_enum", "survey_type", False),
        ("out_of_range", "nps_score", False),
        ("empty_required", "submitted_at", False),
    ),
}


def _pick(options: tuple[str, ...]) -> Callable[[pa.Array, np.random.Generator], pa.Array]:
    def replace(values: pa.Array, rng: np.random.Generator) -> pa.Array:
        return take(pa.array(options, pa.string()), rng.integers(0, len(options), len(values)))

    return replace


def _bad_decimal(values: pa.Array, rng: np.random.Generator) -> pa.Array:
    """The same price with a decimal comma (``12,50``), or no number at all."""
    cents = np.array(
        [round(float(v) * 100) if v not in (None, "") else 0 for v in values.to_pylist()], dtype=np.int64
    )
    comma = comma_money_text(cents)
    junk = take(pa.array(["abc", "n/a", "€12"], pa.string()), rng.integers(0, 3, len(values)))
    return pc.if_else(pa.array(rng.random(len(values)) < 0.7), comma, junk)


def _negative(values: pa.Array, rng: np.random.Generator) -> pa.Array:
    return take(pa.array(["-1", "-2", "-3"], pa.string()), rng.integers(0, 3, len(values)))


def _replacement(kind: str, column: str) -> Callable[[pa.Array, np.random.Generator], pa.Array]:
    if kind == "bad_timestamp":
        return _pick(BAD_TIMESTAMPS)
    if kind == "bad_date":
        return _pick(BAD_DATES)
    if kind == "bad_enum":
        return _pick(UNKNOWN_ENUMS[column])
    if kind == "empty_required":
        return _pick(("",))
    if kind == "negative_quantity":
        return _negative
    if kind == "bad_decimal":
        return _bad_decimal
    if kind == "bad_bool":
        return _pick(BAD_BOOLS)
    if kind == "out_of_range":
        return _pick(OUT_OF_RANGE[column])
    if kind == "bad_integer":
        return _pick(BAD_INTEGERS)
    raise ValueError(f"no replacement for dirt kind {kind!r}")


def _put(values: pa.Array, positions: np.ndarray, replacement: pa.Array) -> pa.Array:
    mask = np.zeros(len(values), bool)
    mask[positions] = True
    spread = np.zeros(len(values), np.int64)
    spread[positions] = np.arange(len(positions))
    return pc.if_else(pa.array(mask), take(replacement, spread), values)


def spoil(batch: Batch, channel: str, rate: float, rng: np.random.Generator) -> None:
    """Put an invalid value into about ``rate`` of the batch's records (in place)."""
    if rate <= 0 or not batch.n_records:
        return
    kinds = CHANNEL_DIRT[channel]
    chosen = np.flatnonzero((rng.random(batch.n_records) < rate) & (batch.invalid_kind < 0))
    if not len(chosen):
        return
    which = rng.integers(0, len(kinds), len(chosen))
    lines_per_record = batch.lines_per_record()
    line_start = np.concatenate([[0], np.cumsum(lines_per_record)[:-1]])
    for ki, (kind, column, line_level) in enumerate(kinds):
        recs = chosen[which == ki]
        if not len(recs):
            continue
        batch.invalid_kind[recs] = DIRT_KINDS.index(kind)
        if kind == "malformed_json":
            batch.invalid_rows[recs] = 1
            continue
        if line_level:
            lines = line_start[recs] + rng.integers(0, lines_per_record[recs])
            target = batch.lines[column]
            batch.lines[column] = _put(target, lines, _replacement(kind, column)(take(target, lines), rng))
            batch.invalid_rows[recs] = 1
        else:
            target = batch.columns[column]
            batch.columns[column] = _put(target, recs, _replacement(kind, column)(take(target, recs), rng))
            batch.invalid_rows[recs] = lines_per_record[recs]


def duplicate(batch: Batch, rate: float, rng: np.random.Generator) -> Batch:
    """Copy about ``rate`` of the records; each copy follows its original."""
    if rate <= 0 or not batch.n_records:
        return batch
    copies = rng.random(batch.n_records) < rate
    if not copies.any():
        return batch
    order = np.repeat(np.arange(batch.n_records), np.where(copies, 2, 1))
    is_copy = np.zeros(len(order), bool)
    is_copy[1:] = order[1:] == order[:-1]
    out = batch.take(order)
    out.exact_duplicate = out.exact_duplicate | is_copy
    out.in_truth = out.in_truth & ~is_copy
    return out
