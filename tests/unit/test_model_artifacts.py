"""Model artefacts: the refit calendar, the data fingerprint, and saving / loading / staleness."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from customer360 import model_artifacts
from customer360.settings import Settings


def test_given_dates_when_refit_date_is_asked_then_it_is_the_latest_calendar_date_on_or_before() -> None:
    # GIVEN the weekly calendar from Monday 2024-01-01 WHEN asked for each day of a week
    week = [date(2026, 11, 23) + timedelta(days=k) for k in range(7)]
    # THEN every day maps to that week's Monday, and a Monday to itself
    assert {model_artifacts.refit_date(d, 7) for d in week} == {date(2026, 11, 23)}
    assert model_artifacts.refit_date(date(2026, 11, 30), 7) == date(2026, 11, 30)
    assert model_artifacts.refit_date(date(2026, 11, 24), 1) == date(2026, 11, 24)
    with pytest.raises(ValueError, match="at least one day"):
        model_artifacts.refit_date(date(2026, 11, 24), 0)


def test_given_the_same_rows_in_another_order_when_fingerprinted_then_the_print_is_the_same() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.integers(0, 5, 200).astype(float), "y": rng.random(200)})
    shuffled = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert model_artifacts.data_fingerprint(frame) == model_artifacts.data_fingerprint(shuffled)
    changed = frame.copy()
    changed.loc[0, "y"] += 1e-9
    assert model_artifacts.data_fingerprint(changed) != model_artifacts.data_fingerprint(frame)


def _artefact(spec: str = "spec-1") -> model_artifacts.Artefact:
    return model_artifacts.Artefact(
        model="demo",
        spec=spec,
        refit_date=date(2026, 11, 23),
        training_window_start=date(2026, 8, 25),
        training_window_end=date(2026, 11, 23),
        data_fingerprint="ab" * 32,
        seed=7,
        metrics={"auc": 0.71, "missing": float("nan")},
        parameters={"scorer": "demo"},
    )


def test_given_a_saved_artefact_when_loaded_then_it_round_trips_and_a_new_spec_makes_it_stale(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path)
    # WHEN an artefact is saved with an estimator
    path = model_artifacts.save(settings, _artefact(), estimator={"weights": [1, 2, 3]})
    # THEN it lives under the settings' model folder, named by model, refit date and data, beside its
    # estimator
    assert path == tmp_path / "models" / "demo" / "2026-11-23+abababababab.json"
    assert path.with_suffix(".pkl").is_file()
    print_ = "ab" * 32
    loaded, estimator = model_artifacts.load(settings, "demo", date(2026, 11, 23), print_, "spec-1")
    assert loaded.version == "demo@2026-11-23+abababababab"
    assert loaded.metrics == {"auc": 0.71, "missing": None}  # no NaN in JSON
    assert loaded.training_window_start == date(2026, 8, 25) and estimator == {"weights": [1, 2, 3]}
    # AND another specification, library version, refit date or training data finds nothing to reuse
    refit = date(2026, 11, 23)
    assert model_artifacts.load(settings, "demo", refit, print_, "spec-2") is None
    assert model_artifacts.load(settings, "demo", refit, print_, "spec-1", {"numpy": "0"}) is None
    assert model_artifacts.load(settings, "demo", date(2026, 11, 30), print_, "spec-1") is None
    assert model_artifacts.load(settings, "demo", refit, "cd" * 32, "spec-1") is None
    # AND an unreadable file is refitted over rather than trusted
    path.write_text("{not json", encoding="utf-8")
    assert model_artifacts.load(settings, "demo", refit, print_, "spec-1") is None
