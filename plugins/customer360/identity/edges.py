"""Match rules and the edges they produce between records.

Records are numbered ``0..n-1`` in a fixed order (earliest ``observed_at`` first, then channel and record id),
so an edge is a pair of record numbers. Each edge carries the rule that made it (its priority: a lower number
is stronger evidence), a score (1.0 for deterministic rules, the match probability for the probabilistic rule)
and the key that links the two records (the shared email, phone, account or loyalty id), for the audit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class MatchRule:
    name: str
    priority: int
    column: str | None = None  # record column holding the match key (deterministic rules)


# Versions of one source record are one record: these edges are applied first and never refused by a guard.
SAME_RECORD_RULE = MatchRule("same_record", 0, "record_key")
FORCED_PRIORITY = SAME_RECORD_RULE.priority

# Strongest evidence first. The clustering applies edges in this order, so when a guard must choose between
# two links, the stronger one wins.
DETERMINISTIC_RULES: tuple[MatchRule, ...] = (
    SAME_RECORD_RULE,
    MatchRule("account_id", 1, "account_key"),
    MatchRule("loyalty_id", 2, "loyalty_key"),
    MatchRule("email", 3, "email_key"),
    MatchRule("phone", 4, "phone_key"),
)
PROBABILISTIC_RULE = MatchRule("probabilistic", 5)
ALL_RULES: tuple[MatchRule, ...] = (*DETERMINISTIC_RULES, PROBABILISTIC_RULE)
RULE_BY_PRIORITY = {rule.priority: rule for rule in ALL_RULES}


@dataclass
class EdgeSet:
    """Edges as parallel arrays: ``left < right`` record numbers, rule priority, score and linking key."""

    left: np.ndarray
    right: np.ndarray
    priority: np.ndarray
    score: np.ndarray
    key: pa.Array

    def __len__(self) -> int:
        return len(self.left)

    @classmethod
    def empty(cls) -> EdgeSet:
        return cls(
            np.empty(0, np.int64),
            np.empty(0, np.int64),
            np.empty(0, np.int16),
            np.empty(0),
            pa.array([], pa.string()),
        )

    @classmethod
    def concat(cls, parts: list[EdgeSet]) -> EdgeSet:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.left for p in parts]),
            np.concatenate([p.right for p in parts]),
            np.concatenate([p.priority for p in parts]),
            np.concatenate([p.score for p in parts]),
            pa.concat_arrays([p.key.cast(pa.string()) for p in parts]),
        )

    def take(self, positions: np.ndarray) -> EdgeSet:
        return EdgeSet(
            self.left[positions],
            self.right[positions],
            self.priority[positions],
            self.score[positions],
            self.key.take(pa.array(positions, pa.int64())),
        )

    def counts_by_rule(self, mask: np.ndarray | None = None) -> dict[str, int]:
        priorities = self.priority if mask is None else self.priority[mask]
        counts = np.bincount(priorities.astype(np.int64), minlength=max(RULE_BY_PRIORITY) + 1)
        return {rule.name: int(counts[rule.priority]) for rule in ALL_RULES}
