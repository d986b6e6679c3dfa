"""A day's records of one channel as text columns, with what the ground truth needs about each record."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa

from customer360_dev.datagen.formatting import take


@dataclass
class Batch:
    """Records of one channel for one file.

    ``columns`` hold one value per record in contract column order (for web orders: the order-level
    fields). Web orders also carry ``lines`` (one value per order line) and ``line_record``, the record each
    line belongs to. ``person`` is the true person of each record; ``record_id`` the id the ground truth
    keys it by; ``in_truth`` marks records to list in the ground truth (first appearance of a record that
    identifies a person); ``near_duplicate`` / ``exact_duplicate`` mark re-exports and copied rows.
    """

    columns: dict[str, pa.Array]
    person: np.ndarray
    record_id: pa.Array
    in_truth: np.ndarray
    lines: dict[str, pa.Array] = field(default_factory=dict)
    line_record: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    near_duplicate: np.ndarray | None = None
    exact_duplicate: np.ndarray | None = None
    # dirt: the kind of invalid value put into a record (-1: clean) and the raw rows it spoils
    invalid_kind: np.ndarray | None = None
    invalid_rows: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.person)
        if self.near_duplicate is None:
            self.near_duplicate = np.zeros(n, bool)
        if self.exact_duplicate is None:
            self.exact_duplicate = np.zeros(n, bool)
        if self.invalid_kind is None:
            self.invalid_kind = np.full(n, -1, np.int8)
        if self.invalid_rows is None:
            self.invalid_rows = np.zeros(n, np.int64)

    @property
    def n_records(self) -> int:
        return len(self.person)

    def lines_per_record(self) -> np.ndarray:
        if not self.lines:
            return np.ones(self.n_records, np.int64)
        return np.bincount(self.line_record, minlength=self.n_records)

    def take(self, records: np.ndarray) -> Batch:
        """The given records (in that order), with their lines."""
        records = np.asarray(records, dtype=np.int64)
        columns = {k: take(v, records) for k, v in self.columns.items()}
        lines: dict[str, pa.Array] = {}
        line_record = np.zeros(0, np.int64)
        if self.lines:
            # A record may be taken twice (duplicates): gather its lines once per copy.
            counts = self.lines_per_record()
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            reps = counts[records]
            line_index = np.repeat(starts[records], reps) + _ranges(reps)
            lines = {k: take(v, line_index) for k, v in self.lines.items()}
            line_record = np.repeat(np.arange(len(records)), reps)
        return replace(
            self,
            columns=columns,
            person=self.person[records],
            record_id=take(self.record_id, records),
            in_truth=self.in_truth[records],
            lines=lines,
            line_record=line_record,
            near_duplicate=self.near_duplicate[records],
            exact_duplicate=self.exact_duplicate[records],
            invalid_kind=self.invalid_kind[records],
            invalid_rows=self.invalid_rows[records],
        )


def _ranges(counts: np.ndarray) -> np.ndarray:
    """``[0..c0-1, 0..c1-1, ...]`` for counts ``c``."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    ends = np.cumsum(counts)
    return np.arange(total) - np.repeat(ends - counts, counts)


def line_numbers(counts: np.ndarray) -> np.ndarray:
    """1-based line numbers within each record for per-record line ``counts``."""
    return _ranges(counts) + 1


def concat_batches(batches: list[Batch]) -> Batch:
    """Records of several batches in order; lines must be sorted by record in each part (they are)."""
    batches = [b for b in batches if b.n_records]
    if not batches:
        raise ValueError("concat_batches needs at least one non-empty batch")
    if len(batches) == 1:
        return batches[0]
    first = batches[0]
    offsets = np.cumsum([0] + [b.n_records for b in batches[:-1]])
    return Batch(
        columns={k: pa.concat_arrays([b.columns[k] for b in batches]) for k in first.columns},
        person=np.concatenate([b.person for b in batches]),
        record_id=pa.concat_arrays([b.record_id for b in batches]),
        in_truth=np.concatenate([b.in_truth for b in batches]),
        lines={k: pa.concat_arrays([b.lines[k] for b in batches]) for k in first.lines},
        line_record=np.concatenate([b.line_record + o for b, o in zip(batches, offsets, strict=True)])
        if first.lines
        else np.zeros(0, np.int64),
        near_duplicate=np.concatenate([b.near_duplicate for b in batches]),
        exact_duplicate=np.concatenate([b.exact_duplicate for b in batches]),
        invalid_kind=np.concatenate([b.invalid_kind for b in batches]),
        invalid_rows=np.concatenate([b.invalid_rows for b in batches]),
    )
