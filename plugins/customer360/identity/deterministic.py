"""Deterministic edges: records sharing a normalised account id, loyalty id, email or phone.

A key shared by ``k`` records gives ``k - 1`` edges, each joining a record to the earliest record holding the
key (a star), not ``k * (k - 1) / 2`` pairs: connectivity is the same and the cost stays linear. Keys
that must
not link (role emails, placeholder phones) are already null in the record's ``*_key`` column.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360.identity.edges import DETERMINISTIC_RULES, EdgeSet, MatchRule


def deterministic_edges(records: pa.Table, rules: tuple[MatchRule, ...] = DETERMINISTIC_RULES) -> EdgeSet:
    """Star edges per shared key for each rule; records must be numbered by their row position."""
    return EdgeSet.concat([_rule_edges(records.column(rule.column), rule) for rule in rules])


def _rule_edges(column: pa.ChunkedArray | pa.Array, rule: MatchRule) -> EdgeSet:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(column)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    codes = np.where(encoded.indices.is_valid().to_numpy(zero_copy_only=False), codes, -1).astype(np.int64)
    holders = np.flatnonzero(codes >= 0)
    if len(holders) == 0:
        return EdgeSet.empty()
    # The earliest holder of each key: rows are already in record order, so it is the first occurrence.
    distinct_codes, first_position = np.unique(codes[holders], return_index=True)
    hub_of_code = np.full(len(encoded.dictionary), -1, dtype=np.int64)
    hub_of_code[distinct_codes] = holders[first_position]
    hubs = hub_of_code[codes[holders]]
    linked = holders != hubs
    left, right = hubs[linked], holders[linked]
    return EdgeSet(
        left=left,
        right=right,
        priority=np.full(len(left), rule.priority, dtype=np.int16),
        score=np.ones(len(left)),
        key=encoded.dictionary.take(pa.array(codes[right], pa.int64())).cast(pa.string()),
    )
