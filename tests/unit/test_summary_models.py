"""The run summary's model section: one row per model of analytics.model_runs, failures shown, not fatal."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from customer360.progress import stage
from customer360.settings import Settings
from customer360.summary import build_summary, render_summary

AS_OF = date(2026, 11, 24)
RUN_ID = "manual__test"


def test_given_the_models_stages_when_summarised_then_each_model_has_its_status_metric_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a run whose CLV models were reused and whose churn model failed (recorded, not raised)
    settings = Settings(home=tmp_path)
    run_dir = settings.run_dir(AS_OF.isoformat())
    clv_rows = [
        {
            "model": "pareto_nbd",
            "version": "clv@2026-11-23+0123456789ab",
            "status": "reused",
            "reason": "",
            "metrics": {"holdout_relative_error": 0.115},
        },
        {
            "model": "gamma_gamma",
            "version": "clv@2026-11-23+0123456789ab",
            "status": "reused",
            "reason": "",
            "metrics": {},
        },
    ]
    churn_rows = [
        {
            "model": "churn",
            "version": None,
            "status": "failed",
            "reason": "ValueError: no churn feature has a known value",
            "metrics": {},
        }
    ]
    with stage(run_dir, "models:clv", RUN_ID) as detail:
        detail["model_runs"] = clv_rows
    with stage(run_dir, "models:churn", RUN_ID) as detail:
        detail["model_runs"] = churn_rows
    # WHEN the summary is built and printed
    summary = build_summary(settings, AS_OF, RUN_ID)
    render_summary(summary)
    out = capsys.readouterr().out
    # THEN every model is listed with its status, headline metric and reason
    assert [(m["model"], m["status"]) for m in summary["models"]] == [
        ("pareto_nbd", "reused"),
        ("gamma_gamma", "reused"),
        ("churn", "failed"),
    ]
    assert summary["models"][0]["holdout_relative_error"] == 0.115
    assert summary["models"][2]["reason"].startswith("ValueError")
    assert "Models (analytics.model_runs" in out and "0.115" in out and "failed" in out
    # AND a failed model is not one of the run's problems (the run goes on; only publishing is missing here)
    assert not any("churn" in problem for problem in summary["problems"])
