"""The three baselines the churn model must beat, each a score that rises with the risk of churning.

- ``recency``: days since the last purchase day (recency alone, the analyst's first rule of thumb);
- ``pareto_nbd_no_purchase``: the Pareto/NBD probability of no purchase day in the churn horizon h,
  1 - P(alive) + P(alive) P(no purchase in h | alive) = L(x, t_x, T+h) / L(x, t_x, T)
  (``customer360.clv.pareto_nbd.probability_no_purchase``). This is "1 - P(alive)" taken over the label's
  horizon: 1 - P(alive) alone is the chance the customer is already inactive *now*, which says nothing of a
  live customer who will not buy in the next h days. (Under BG/NBD, used until issue 21, 1 - P(alive) was 0
  for every one-time buyer, who are the most likely to make no purchase in the horizon; as a churn score its
  AUC fell below 0.5 on the generator's data.)
- ``rfm_score``: (15 - (R + F + M)) / 12, with R, F and M the quintile scores 1..5 of -recency, frequency
  and monetary among the scored customers, breakpoints by value (equal values always get equal scores).

A baseline is published as a probability through an isotonic calibration fitted on the training customers
(``Calibration``): monotone, so it keeps the baseline's ranking (and AUC), and its values are observed churn
shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

RECENCY = "recency"
NO_PURCHASE_PROBABILITY = "pareto_nbd_no_purchase"
RFM_SCORE = "rfm_score"
BASELINES = (RECENCY, NO_PURCHASE_PROBABILITY, RFM_SCORE)
QUINTILES = 5


def _column(features: pd.DataFrame, name: str) -> np.ndarray:
    return features[name].to_numpy(dtype=np.float64, na_value=np.nan)


def quintile_scores(values: np.ndarray) -> np.ndarray:
    """1..5 by value: the share of customers with a value at or below this one, in fifths (ceil(5 q)).

    Ties share the highest rank of their group (so equal values always get the same score, whatever order or
    ids the rows have); missing values score 1."""
    from scipy.stats import rankdata

    values = np.asarray(values, dtype=np.float64)
    known = np.isfinite(values)
    scores = np.ones(values.shape[0], dtype=np.float64)
    if known.any():
        ranks = rankdata(values[known], method="max")
        scores[known] = np.maximum(1.0, np.ceil(QUINTILES * ranks / known.sum()))
    return scores


def recency_score(features: pd.DataFrame) -> np.ndarray:
    return _column(features, "recency_days")


def no_purchase_probability_score(features: pd.DataFrame) -> np.ndarray:
    """Pareto/NBD P(no purchase in the horizon); a missing value counts as the median of the others
    (0.5 if none)."""
    values = _column(features, "p_no_purchase_horizon")
    known = np.isfinite(values)
    fill = float(np.median(values[known])) if known.any() else 0.5
    return np.where(known, values, fill)


def rfm_risk_score(features: pd.DataFrame) -> np.ndarray:
    recency = quintile_scores(-_column(features, "recency_days"))
    frequency = quintile_scores(_column(features, "frequency"))
    monetary = quintile_scores(_column(features, "monetary"))
    return (3 * QUINTILES - (recency + frequency + monetary)) / (3 * QUINTILES - 3)


def baseline_score(name: str, features: pd.DataFrame) -> np.ndarray:
    """The named baseline's risk score for each row of ``features``."""
    scorers = {
        RECENCY: recency_score,
        NO_PURCHASE_PROBABILITY: no_purchase_probability_score,
        RFM_SCORE: rfm_risk_score,
    }
    if name not in scorers:
        raise ValueError(f"unknown churn baseline {name!r}; the baselines are {', '.join(BASELINES)}")
    return scorers[name](features)


@dataclass(frozen=True)
class Calibration:
    """An isotonic (non-decreasing) map from a score to a churn probability, as breakpoints."""

    thresholds: tuple[float, ...]
    probabilities: tuple[float, ...]

    @classmethod
    def fit(cls, score: np.ndarray, churned: np.ndarray) -> Calibration:
        from sklearn.isotonic import IsotonicRegression

        regression = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        regression.fit(np.asarray(score, dtype=np.float64), np.asarray(churned, dtype=np.float64))
        return cls(
            thresholds=tuple(float(v) for v in regression.X_thresholds_),
            probabilities=tuple(float(v) for v in regression.y_thresholds_),
        )

    def apply(self, score: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(score, dtype=np.float64), self.thresholds, self.probabilities)

    def as_dict(self) -> dict[str, list[float]]:
        return {"thresholds": list(self.thresholds), "probabilities": list(self.probabilities)}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> Calibration:
        return cls(tuple(data["thresholds"]), tuple(data["probabilities"]))
