"""Clustering with guards: records joined by edges, strongest evidence first, unless a guard objects.

Semantics (the reference is a sequential union-find): edges are sorted by rule priority, then by score
(highest first), then by record numbers, and applied one by one; an edge is rejected when the cluster it would
create holds more distinct values of a guarded attribute than allowed (emails, phones, birth dates,
account ids,
loyalty ids). Edges between versions of one record (``same_record``) are never refused. The result depends
only on the input, not on the order edges were produced in.

Speed: guards only grow when clusters merge, so a connected component (over all edges) that satisfies every
guard as a whole cannot violate one at any step: all its edges are accepted. Components are computed with
``scipy.sparse.csgraph`` and checked with numpy; only the few components that break a guard are replayed edge
by edge in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from customer360.identity.edges import FORCED_PRIORITY, EdgeSet

ACCEPTED = 0
REJECTED = 1


@dataclass(frozen=True)
class Guard:
    """At most ``limit`` distinct values of ``name`` per cluster (``limit <= 0`` switches the guard off)."""

    name: str
    limit: int


@dataclass
class ClusterResult:
    labels: np.ndarray  # per record: the cluster's earliest record number
    edge_status: np.ndarray  # per edge (input order): ACCEPTED or REJECTED
    reject_reason: np.ndarray  # per edge: guard name for rejected edges, "" otherwise (object array)
    guarded_components: int  # components that needed the edge-by-edge replay
    # per record: its connected component over every edge, accepted or rejected (numbered 0..k-1)
    components: np.ndarray

    @property
    def rejections(self) -> int:
        return int((self.edge_status == REJECTED).sum())

    def rejections_by_guard(self) -> dict[str, int]:
        names, counts = np.unique(self.reject_reason[self.edge_status == REJECTED], return_counts=True)
        return {str(n): int(c) for n, c in zip(names, counts, strict=True)}


def edge_order(edges: EdgeSet) -> np.ndarray:
    """The order edges are applied in: priority, score descending, then record numbers."""
    return np.lexsort((edges.right, edges.left, -edges.score, edges.priority))


def cluster_records(
    record_count: int, edges: EdgeSet, guard_values: dict[str, np.ndarray], guards: tuple[Guard, ...]
) -> ClusterResult:
    """Cluster ``record_count`` records over ``edges``.

    ``guard_values[name]`` holds one integer code per record for each guard (``-1`` when the record has no
    value): two codes differ exactly when the values differ."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    active = tuple(g for g in guards if g.limit > 0)
    for guard in active:
        if len(guard_values[guard.name]) != record_count:
            raise ValueError(
                f"guard {guard.name!r} has {len(guard_values[guard.name])} values for {record_count} records"
            )
    status = np.full(len(edges), ACCEPTED, dtype=np.int8)
    reason = np.full(len(edges), "", dtype=object)
    graph = coo_matrix(
        (np.ones(len(edges), dtype=np.int8), (edges.left, edges.right)), shape=(record_count, record_count)
    )
    component_count, component = connected_components(graph, directed=False)
    violating = np.zeros(component_count, dtype=bool)
    for guard in active:
        violating |= _distinct_per_group(component, guard_values[guard.name], component_count) > guard.limit

    group = component.astype(np.int64)
    replayed = int(violating.sum())
    if replayed:
        in_violation = violating[component[edges.left]]
        positions = np.flatnonzero(in_violation)
        ordered = positions[edge_order(edges.take(positions))]
        roots = _replay(edges, ordered, guard_values, active, status, reason)
        for record, root in roots.items():
            group[record] = component_count + root
    labels = _earliest_member(group)
    return ClusterResult(
        labels=labels,
        edge_status=status,
        reject_reason=reason,
        guarded_components=replayed,
        components=component,
    )


def _distinct_per_group(group: np.ndarray, codes: np.ndarray, group_count: int) -> np.ndarray:
    present = codes >= 0
    width = int(codes.max()) + 1 if present.any() else 1
    pairs = np.unique(group[present].astype(np.int64) * width + codes[present].astype(np.int64))
    return np.bincount(pairs // width, minlength=group_count)


def _earliest_member(group: np.ndarray) -> np.ndarray:
    """Label every record with the smallest record number in its group."""
    _, inverse = np.unique(group, return_inverse=True)
    earliest = np.full(inverse.max() + 1 if len(inverse) else 0, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(earliest, inverse, np.arange(len(group), dtype=np.int64))
    return earliest[inverse]


def _replay(
    edges: EdgeSet,
    ordered: np.ndarray,
    guard_values: dict[str, np.ndarray],
    guards: tuple[Guard, ...],
    status: np.ndarray,
    reason: np.ndarray,
) -> dict[int, int]:
    """Sequential guarded union-find over the edges of guard-violating components.

    Returns the root of every record touched, and marks rejected edges in ``status`` / ``reason``."""
    parent: dict[int, int] = {}
    values: dict[int, list[set[int]]] = {}

    def find(record: int) -> int:
        if record not in parent:
            parent[record] = record
            values[record] = [
                {int(guard_values[g.name][record])} if guard_values[g.name][record] >= 0 else set()
                for g in guards
            ]
            return record
        root = record
        while parent[root] != root:
            root = parent[root]
        while parent[record] != root:
            parent[record], record = root, parent[record]
        return root

    lefts, rights, priorities = edges.left, edges.right, edges.priority
    for position in ordered.tolist():
        a, b = find(int(lefts[position])), find(int(rights[position]))
        if a == b:
            continue
        broken = None
        if priorities[position] != FORCED_PRIORITY:
            broken = next(
                (
                    g.name
                    for g, va, vb in zip(guards, values[a], values[b], strict=True)
                    if len(va | vb) > g.limit
                ),
                None,
            )
        if broken is not None:
            status[position] = REJECTED
            reason[position] = broken
            continue
        if sum(map(len, values[a])) < sum(map(len, values[b])):
            a, b = b, a
        parent[b] = a
        for mine, theirs in zip(values[a], values.pop(b), strict=True):
            mine |= theirs
    return {record: find(record) for record in list(parent)}
