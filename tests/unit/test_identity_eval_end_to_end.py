"""One small identity evaluation end to end: a tiny adversarial set through ingest, dbt staging and identity,
scored with its Splink baseline, and the results files written."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from customer360_dev.identity_eval.report import HEADERS, render_text, write_results
from customer360_dev.identity_eval.run import EvalOptions, evaluate_sets

pytestmark = pytest.mark.slow  # one dbt build of the staging layer


def test_given_a_tiny_adversarial_set_when_evaluated_then_both_methods_are_scored_and_written(tmp_path):
    options = EvalOptions(
        sets=("adversarial",), adversarial_persons=60, adversarial_seed=4, work_dir=tmp_path
    )

    rows = evaluate_sets(options)

    assert [(r.set_name, r.method) for r in rows] == [
        ("adversarial", "customer360"),
        ("adversarial", "splink baseline"),
    ]
    truth = pd.read_parquet(tmp_path / "adversarial" / "truth" / "source_records.parquet")
    for row in rows:
        # every source record of the truth reached identity and was scored
        assert row.score["evaluated_records"] == row.score["truth_records"] == len(truth)
        assert row.score["persons"] == truth["person_id"].nunique()
        assert 0.0 <= row.score["precision"] <= 1.0 and 0.0 <= row.score["recall"] <= 1.0
        assert set(row.score["groups"]) == {"household", "role_mailbox", "namesake"}
        assert 0.0 < row.ceiling_recall <= 1.0
    pipeline = rows[0]
    assert pipeline.details["rows_quarantined"] == {
        channel: 0 for channel in pipeline.details["rows_quarantined"]
    }

    json_path = write_results(
        rows, tmp_path / "identity-eval.md", "customer360 eval-identity --sets adversarial", tmp_path
    )

    markdown = (tmp_path / "identity-eval.md").read_text()
    assert "| " + " | ".join(HEADERS) + " |" in markdown
    assert "| adversarial | customer360 |" in markdown and "| adversarial | splink baseline |" in markdown
    payload = json.loads(json_path.read_text())
    assert [r["method"] for r in payload["rows"]] == ["customer360", "splink baseline"]
    assert "adversarial" in render_text(rows)
