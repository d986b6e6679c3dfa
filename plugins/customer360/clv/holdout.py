"""Holdout validation: predicted vs actual repeat purchase days after the calibration period.

Customers are those with a first purchase up to the observation end (the calibration cohort). For each, the
Pareto/NBD conditional expectation for the holdout length is compared with the purchase days actually seen in
(observation end, holdout end], in total and per calibration frequency bucket 0, 1, ..., 6, 7+ (the check of
Fader, Hardie & Lee 2005, figure 4).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from customer360.clv.fit import ClvModels
from customer360.clv.predict import purchase_model
from customer360.clv.summary import CustomerSummary

# Buckets 0 .. TOP_BUCKET - 1 and "TOP_BUCKET+" of calibration-period repeat purchases.
TOP_BUCKET = 7


@dataclass(frozen=True)
class BucketComparison:
    bucket: str
    n_customers: int
    actual: float
    predicted: float
    actual_mean: float
    predicted_mean: float


@dataclass(frozen=True)
class HoldoutComparison:
    holdout_days: int
    n_customers: int
    actual: float
    predicted: float
    buckets: list[BucketComparison]

    @property
    def relative_error(self) -> float:
        """(predicted - actual) / actual; NaN without actual purchases."""
        return (self.predicted - self.actual) / self.actual if self.actual else float("nan")

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "relative_error": self.relative_error}


def compare_holdout(
    summary: CustomerSummary, models: ClvModels, actual: np.ndarray, holdout_days: int
) -> HoldoutComparison:
    """Compare expected with ``actual`` holdout purchase days (aligned with ``summary``)."""
    actual = np.asarray(actual, dtype=np.float64)
    if actual.shape[0] != summary.n_customers:
        raise ValueError(
            f"holdout counts cover {actual.shape[0]} customers but the summary has {summary.n_customers}"
        )
    _, expected_purchases = purchase_model(summary, models)
    predicted = expected_purchases(float(holdout_days))
    bucket = np.minimum(summary.frequency, TOP_BUCKET).astype(np.int64)
    counts = np.bincount(bucket, minlength=TOP_BUCKET + 1)
    actual_sums = np.bincount(bucket, weights=actual, minlength=TOP_BUCKET + 1)
    predicted_sums = np.bincount(bucket, weights=predicted, minlength=TOP_BUCKET + 1)
    buckets = [
        BucketComparison(
            bucket=f"{k}+" if k == TOP_BUCKET else str(k),
            n_customers=int(counts[k]),
            actual=float(actual_sums[k]),
            predicted=float(predicted_sums[k]),
            actual_mean=float(actual_sums[k] / counts[k]) if counts[k] else float("nan"),
            predicted_mean=float(predicted_sums[k] / counts[k]) if counts[k] else float("nan"),
        )
        for k in range(TOP_BUCKET + 1)
    ]
    return HoldoutComparison(
        holdout_days=int(holdout_days),
        n_customers=summary.n_customers,
        actual=float(actual.sum()),
        predicted=float(predicted.sum()),
        buckets=buckets,
    )
