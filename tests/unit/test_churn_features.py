"""Churn feature table: the documented columns, checks, labels and the purchase-derived features."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from customer360.churn.features import (
    FEATURE_COLUMNS,
    REQUIRED_COLUMNS,
    FeatureTableError,
    labels_from_features,
    purchase_features,
    validate_features,
)


def feature_rows(rows: list[dict]) -> pd.DataFrame:
    defaults = dict.fromkeys(FEATURE_COLUMNS, 0.0)
    return pd.DataFrame([{**defaults, **row} for row in rows], columns=list(REQUIRED_COLUMNS))


def test_given_table_without_a_column_when_validated_then_error_names_it() -> None:
    frame = feature_rows([{"customer_id": "a", "feature_date": "2025-01-01"}]).drop(columns=["last_nps"])
    with pytest.raises(FeatureTableError, match="missing column\\(s\\) last_nps"):
        validate_features(frame)


def test_given_duplicate_customer_day_when_validated_then_error_shows_an_example() -> None:
    frame = feature_rows(
        [
            {"customer_id": "a", "feature_date": "2025-01-01"},
            {"customer_id": "a", "feature_date": "2025-01-01"},
        ]
    )
    with pytest.raises(FeatureTableError, match="duplicate .*'a' on 2025-01-01"):
        validate_features(frame)


def test_given_text_in_numeric_column_when_validated_then_error_names_column() -> None:
    frame = feature_rows([{"customer_id": "a", "feature_date": "2025-01-01", "monetary": "lots"}])
    with pytest.raises(FeatureTableError, match="column monetary is not numeric"):
        validate_features(frame)


def test_given_valid_table_when_validated_then_dates_and_floats() -> None:
    frame = validate_features(
        feature_rows([{"customer_id": "a", "feature_date": "2025-01-01", "last_csat": None}])
    )
    assert frame["feature_date"].iloc[0] == date(2025, 1, 1)
    assert all(frame[column].dtype == np.float64 for column in FEATURE_COLUMNS)
    assert np.isnan(frame["last_csat"].iloc[0])


def test_given_recency_at_later_date_when_labelled_then_churned_means_no_purchase_in_horizon() -> None:
    # GIVEN customers at T (b never purchased) and their recency 90 days later
    then = feature_rows(
        [
            {"customer_id": "a", "feature_date": "2025-01-01", "recency_days": 5},
            {"customer_id": "b", "feature_date": "2025-01-01", "recency_days": None},
            {"customer_id": "c", "feature_date": "2025-01-01", "recency_days": 40},
            {"customer_id": "d", "feature_date": "2025-01-01", "recency_days": 10},
            {"customer_id": "gone", "feature_date": "2025-01-01", "recency_days": 10},
        ]
    )
    now = feature_rows(
        [
            {"customer_id": "a", "feature_date": "2025-04-01", "recency_days": 95},  # nothing since T
            {"customer_id": "b", "feature_date": "2025-04-01", "recency_days": 3},
            {"customer_id": "c", "feature_date": "2025-04-01", "recency_days": 89},  # bought on T + 1
            {"customer_id": "d", "feature_date": "2025-04-01", "recency_days": 90},  # last bought on T itself
        ]
    )
    labels = labels_from_features(then, now, 90)
    # THEN never-purchasers and customers missing later are left out; recency >= horizon means churned
    assert labels["customer_id"].tolist() == ["a", "c", "d"]
    assert labels["churned"].tolist() == [True, False, True]


def test_given_purchase_days_when_features_computed_then_match_documented_definitions() -> None:
    # GIVEN c1 with purchases over 200 days (two on one day) and c2 whose only purchase is after the date
    days = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1", "c1", "c1", "c2"],
            "purchase_date": pd.to_datetime(
                ["2024-12-01", "2025-02-15", "2025-02-15", "2025-05-01", "2025-06-20", "2025-07-02"]
            ),
            "net_amount": [10.0, 5.0, 15.0, 30.0, 40.0, 99.0],
        }
    )
    features = purchase_features(days, date(2025, 6, 30))
    # THEN only c1 has features, with recency/tenure in days, repeat days, spend per day and the trend ratio
    assert features["customer_id"].tolist() == ["c1"]
    row = features.iloc[0]
    assert row["recency_days"] == 10 and row["tenure_days"] == 211
    assert row["frequency"] == 3 and row["monetary"] == pytest.approx(100.0 / 4)
    # last 90 days (Apr 1 - Jun 30): 2 purchase days; the 90 before (Jan 1 - Mar 31): 1 -> (2+1)/(1+1)
    assert row["trend_ratio"] == pytest.approx(1.5)
