"""Guarded clustering, deterministic edges and the audit's bridge finding, without a warehouse."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from customer360.identity.audit import articulation_points, evidence_bridges
from customer360.identity.clustering import REJECTED, Guard, cluster_records
from customer360.identity.deterministic import deterministic_edges
from customer360.identity.edges import EdgeSet

NO_GUARDS: tuple[Guard, ...] = ()


def _edges(pairs, priority=3, score=1.0):
    left = np.array([min(a, b) for a, b in pairs], dtype=np.int64)
    right = np.array([max(a, b) for a, b in pairs], dtype=np.int64)
    return EdgeSet(
        left,
        right,
        np.full(len(pairs), priority, np.int16),
        np.full(len(pairs), score),
        pa.array(["k"] * len(pairs)),
    )


def test_chain_email_then_phone_makes_one_customer():
    """GIVEN A-B sharing an email and B-C sharing a phone WHEN clustered THEN A, B and C are one customer."""
    records = pa.table(
        {
            "record_key": ["crm|a", "web|b", "tickets|c"],
            "account_key": pa.array([None, None, None], pa.string()),
            "loyalty_key": pa.array([None, None, None], pa.string()),
            "email_key": ["a@x.nl", "a@x.nl", None],
            "phone_key": [None, "+31612398765", "+31612398765"],
        }
    )
    edges = deterministic_edges(records)
    assert edges.counts_by_rule() == {
        "same_record": 0,
        "account_id": 0,
        "loyalty_id": 0,
        "email": 1,
        "phone": 1,
        "probabilistic": 0,
    }
    result = cluster_records(3, edges, {}, NO_GUARDS)
    assert result.labels.tolist() == [0, 0, 0]


def test_deterministic_edges_are_a_star_to_the_earliest_holder():
    """GIVEN four records sharing one email WHEN edges are built THEN there are 3 edges, all to record 0."""
    records = pa.table({"email_key": ["e@x.nl"] * 4})
    from customer360.identity.edges import MatchRule

    edges = deterministic_edges(records, (MatchRule("email", 3, "email_key"),))
    assert edges.left.tolist() == [0, 0, 0] and edges.right.tolist() == [1, 2, 3]
    assert edges.key.to_pylist() == ["e@x.nl"] * 3


def test_phone_shared_by_five_people_is_stopped_by_the_email_guard():
    """GIVEN five persons with their own email sharing one phone WHEN clustered with max 2 emails THEN no
    customer holds more than 2 emails and the rejected edges are counted."""
    emails = np.arange(5, dtype=np.int64)
    edges = _edges([(0, i) for i in range(1, 5)], priority=4)
    result = cluster_records(5, edges, {"emails": emails}, (Guard("emails", 2),))
    sizes = np.bincount(result.labels)
    assert sizes.max() == 2
    assert result.rejections == 3
    assert result.rejections_by_guard() == {"emails": 3}
    assert result.guarded_components == 1


def test_different_birth_dates_are_never_joined():
    """GIVEN two records with different birth dates linked through a third WHEN clustered THEN the second
    link is rejected by the birth-date guard."""
    birth = np.array([1, -1, 2], dtype=np.int64)
    edges = _edges([(0, 1), (1, 2)])
    result = cluster_records(3, edges, {"birth_dates": birth}, (Guard("birth_dates", 1),))
    assert result.labels.tolist() == [0, 0, 2]
    assert result.reject_reason[result.edge_status == REJECTED].tolist() == ["birth_dates"]


def test_stronger_rule_wins_when_a_guard_must_choose():
    """GIVEN record 1 linked to 0 by phone and to 2 by account id, 0 and 2 with different birth dates
    WHEN clustered THEN the account-id link (stronger) is kept and the phone link rejected."""
    birth = np.array([1, -1, 2], dtype=np.int64)
    edges = EdgeSet.concat([_edges([(0, 1)], priority=4), _edges([(1, 2)], priority=1)])
    result = cluster_records(3, edges, {"birth_dates": birth}, (Guard("birth_dates", 1),))
    assert result.labels.tolist() == [0, 1, 1]


def test_result_does_not_depend_on_edge_order():
    """GIVEN the same random edges in two orders WHEN clustered with guards THEN the labels are identical."""
    rng = np.random.default_rng(3)
    n = 300
    pairs = [tuple(sorted(p)) for p in rng.integers(0, n, size=(400, 2)) if p[0] != p[1]]
    edges = _edges(pairs, priority=3)
    edges.priority = rng.integers(1, 5, len(pairs)).astype(np.int16)
    guards = {"emails": rng.integers(-1, 40, n), "birth_dates": rng.integers(-1, 30, n)}
    limits = (Guard("emails", 2), Guard("birth_dates", 1))
    first = cluster_records(n, edges, guards, limits)
    shuffled = edges.take(rng.permutation(len(edges)))
    second = cluster_records(n, shuffled, guards, limits)
    assert first.labels.tolist() == second.labels.tolist()
    assert first.rejections == second.rejections > 0


def test_versions_of_one_record_are_joined_even_against_a_guard():
    """GIVEN two versions of one CRM record with different birth dates (a corrected typo) WHEN clustered THEN
    the same_record edge joins them anyway, and a third record cannot add a third birth date."""
    records = pa.table(
        {
            "record_key": ["crm|1", "crm|1", "web|9"],
            "account_key": pa.array([None, "A1", "A1"], pa.string()),
            "loyalty_key": pa.array([None, None, None], pa.string()),
            "email_key": pa.array([None, None, None], pa.string()),
            "phone_key": pa.array([None, None, None], pa.string()),
        }
    )
    edges = deterministic_edges(records)
    birth = np.array([1, 2, 3], dtype=np.int64)
    result = cluster_records(3, edges, {"birth_dates": birth}, (Guard("birth_dates", 1),))
    assert result.labels.tolist() == [0, 0, 2]
    assert result.rejections_by_guard() == {"birth_dates": 1}


def test_guard_limit_zero_switches_the_guard_off():
    """GIVEN a guard with limit 0 WHEN clustering records with many values THEN nothing is rejected."""
    edges = _edges([(0, 1), (1, 2)])
    result = cluster_records(3, edges, {"emails": np.array([0, 1, 2])}, (Guard("emails", 0),))
    assert result.labels.tolist() == [0, 0, 0] and result.rejections == 0


def test_articulation_points_report_the_parts_they_hold_together():
    """GIVEN two triangles joined through one node WHEN searching articulation points THEN that node is
    found with parts of 2 and 2 (weights count records only)."""
    adjacency = {
        "a": {"b", "c"},
        "b": {"a", "c"},
        "c": {"a", "b", "x"},
        "x": {"c", "d"},
        "d": {"x", "e", "f"},
        "e": {"d", "f"},
        "f": {"d", "e"},
    }
    weight = {node: 1 for node in "abcdef"}
    points = articulation_points(adjacency, weight)
    assert points["x"] == [3, 3]
    assert set(points) == {"c", "x", "d"}


def test_shared_email_is_the_bridge_between_two_groups():
    """GIVEN two account groups joined only by one shared email WHEN bridges are computed THEN that email key
    is the top bridge, holding 2 + 2 records together."""
    edges = [
        {"left": "r1", "right": "r2", "match_rule": "account_id", "match_key": "A1"},
        {"left": "r3", "right": "r4", "match_rule": "account_id", "match_key": "A2"},
        {"left": "r2", "right": "r3", "match_rule": "email", "match_key": "fam@x.nl"},
    ]
    bridges = evidence_bridges(edges, ["r1", "r2", "r3", "r4"])
    top = bridges[0]
    assert top.kind == "key" and top.label == "email=fam@x.nl" and top.parts == [2, 2]
