"""Scoring of the identity evaluation on hand-computed cluster assignments.

Truth: P1 = r1, r2, r3; P2 = r4, r5; P3 = r6. Found: C1 = r1, r2; C2 = r3, r4, r5; C3 = r6.
Correct pairs: (r1, r2) and (r4, r5) = 2; found pairs: 1 + 3 = 4; true pairs: 3 + 1 = 4.
"""

from __future__ import annotations

import pandas as pd
import pytest

from customer360_dev.identity_eval.metrics import score


@pytest.fixture
def truth_files(tmp_path):
    truth = pd.DataFrame(
        {
            "source_channel": ["crm_contacts"] * 3 + ["web_orders"] * 2 + ["surveys"],
            "source_record_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
            "person_id": ["P1", "P1", "P1", "P2", "P2", "P3"],
        }
    )
    groups = pd.DataFrame(
        {
            "trap_class": ["household", "household", "namesake", "namesake"],
            "group_id": ["h1", "h1", "n1", "n1"],
            "person_id": ["P1", "P2", "P2", "P3"],
        }
    )
    pairs = pd.DataFrame(
        {
            "trap_class": ["nickname", "nickname", "household"],
            "group_id": ["x", "y", "h1"],
            "source_channel_l": ["crm_contacts", "crm_contacts", "crm_contacts"],
            "source_record_id_l": ["r1", "r1", "r3"],
            "source_channel_r": ["crm_contacts", "crm_contacts", "web_orders"],
            "source_record_id_r": ["r2", "r3", "r4"],
            "same_person": [True, True, False],
        }
    )
    paths = {name: tmp_path / f"{name}.parquet" for name in ("truth", "groups", "pairs")}
    truth.to_parquet(paths["truth"])
    groups.to_parquet(paths["groups"])
    pairs.to_parquet(paths["pairs"])
    return paths


def _assignments() -> pd.DataFrame:
    # the pipeline names channels in short form; scoring maps them to the contract's names
    return pd.DataFrame(
        {
            "source_channel": ["crm", "crm", "crm", "web", "web", "surveys"],
            "source_record_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
            "customer_id": ["C1", "C1", "C2", "C2", "C2", "C3"],
        }
    )


def test_given_hand_computed_clusters_when_scored_then_pairwise_metrics_match(truth_files):
    result = score(_assignments(), truth_files["truth"])

    p = result.pairwise
    assert (p.true_positive_pairs, p.predicted_pairs, p.true_pairs) == (2, 4, 4)
    assert (p.precision, p.recall, p.f1) == (0.5, 0.5, 0.5)
    assert (p.customers, p.persons, p.false_merges, p.missed_merges) == (3, 3, 1, 1)


def test_given_trap_groups_when_scored_then_a_group_sharing_a_customer_counts_as_merged(truth_files):
    result = score(_assignments(), truth_files["truth"], truth_files["groups"], truth_files["pairs"])

    # C2 holds records of P1 and P2 (household h1); P2 and P3 (namesakes) stay apart
    assert result.groups_merged == {"household": 1, "namesake": 0}
    assert result.groups == {"household": 1, "namesake": 1, "role_mailbox": 0}
    # (r1, r2) linked, (r1, r3) not: half of the nickname pairs; the household pair is not a same-person pair
    assert result.pairs_linked == {"nickname": 0.5}
    assert result.pairs == {"nickname": 2}


def test_given_everything_in_one_cluster_when_scored_then_recall_is_one_and_every_group_merged(truth_files):
    assignments = _assignments().assign(customer_id="C")

    result = score(assignments, truth_files["truth"], truth_files["groups"])

    assert result.pairwise.recall == 1.0
    assert result.pairwise.precision == pytest.approx(4 / 15)
    assert result.groups_merged == {"household": 1, "namesake": 1}


def test_given_assignments_without_a_customer_column_when_scored_then_the_error_says_what_is_missing(
    truth_files,
):
    with pytest.raises(ValueError, match="customer_id"):
        score(_assignments().drop(columns="customer_id"), truth_files["truth"])
