"""Churn model: train on features as of T with labels from (T, T + horizon], score customers as of today.

Estimator: scikit-learn ``HistGradientBoostingClassifier``. Why not logistic regression: the churn signal is
strongly non-linear (risk rises steeply with recency relative to a customer's own purchase rhythm, and
frequency x recency interact), survey answers are missing for most customers (the boosted trees route missing
values natively, a linear model needs imputation plus indicator columns), and it fits a million rows
quickly on one core. Shallow trees, L2 regularisation and early stopping on an internal validation split
keep it from memorising the training date.

Reasons without SHAP or permutation importance: for each customer and feature j, the contribution is the
change in predicted log-odds when j alone is set to its reference value (the training median):

    contribution_j(x) = logit f(x) - logit f(x with x_j := median_j)

It is local (per customer), deterministic, costs one extra prediction pass per feature (11 passes, each over
only the customers whose value differs from the reference: a customer at the reference has contribution 0
without one), and for an additive model it is exactly that feature's term measured from the typical
customer. It reads as "this customer's risk would be this much lower if this feature were typical". A feature
that is missing for the customer (no survey answer) counts as its value, so "missing CSAT" can itself be a
reason. The top three features with a positive contribution (raising risk) are the customer's reasons;
fewer when fewer raise it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from customer360.churn.features import FEATURE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier

# Band thresholds on the churn score (candidates for Settings.churn_band_high / churn_band_medium).
HIGH_BAND_MIN_SCORE = 0.6
MEDIUM_BAND_MIN_SCORE = 0.3
TOP_REASONS = 3
# Contributions below this (log-odds) are noise, not reasons.
MIN_REASON_LOG_ODDS = 1e-3
RANDOM_SEED = 20250101
# OpenMP threads for fitting (a candidate for Settings). The pipeline shares small machines with other tasks;
# with more busy threads than cores, OpenMP's spin-waiting makes HistGradientBoosting's fit many times slower
# on a loaded machine (a fit runs thousands of short parallel regions, each waiting for every thread), so one
# thread is the predictable default.
MODEL_THREADS = 1
# OpenMP threads for predicting: one parallel region per tree over all rows, so no spin-waiting penalty, and
# scoring with reasons (one pass per feature over every customer) is the stage's largest cost, so it gains
# from a second thread even on a busy machine.
SCORING_THREADS = 2

_EPS = 1e-9


@dataclass
class ChurnModel:
    estimator: HistGradientBoostingClassifier
    feature_columns: tuple[str, ...]
    reference_values: dict[str, float]
    n_train: int
    positives_share: float
    fit_seconds: float
    params: dict[str, object] = field(default_factory=dict)


@contextmanager
def limited_threads(threads: int = MODEL_THREADS) -> Iterator[None]:
    """Cap OpenMP/BLAS threads at ``threads`` while the estimator fits or predicts."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        yield


def feature_matrix(features: pd.DataFrame, columns: tuple[str, ...] = FEATURE_COLUMNS) -> np.ndarray:
    return features.loc[:, list(columns)].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)


def make_estimator() -> HistGradientBoostingClassifier:
    """The churn estimator. ``learning_rate`` 0.1 (scikit-learn's default) rather than 0.05: early stopping
    keeps fewer trees for the same backtest, and every reason pass walks every tree, so the reasons cost
    less. 0.2 kept fewer trees still but lost a little backtest AUC (DECISIONLOG.md, "Churn learning
    rate")."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        learning_rate=0.1,
        max_iter=400,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=20,
        random_state=RANDOM_SEED,
    )


def train(features_T: pd.DataFrame, labels: np.ndarray | pd.Series) -> ChurnModel:
    """Fit on features as of T (rows aligned with ``labels``: True = no purchase in (T, T + horizon])."""
    y = np.asarray(labels, dtype=bool)
    if y.shape[0] != features_T.shape[0]:
        raise ValueError(f"{y.shape[0]} labels for {features_T.shape[0]} feature rows: they must be aligned")
    if y.all() or not y.any():
        raise ValueError(
            f"all {y.shape[0]} training customers are labelled {'churned' if y.any() else 'retained'}: "
            "a churn model needs both outcomes"
        )
    # A feature without one known value in the training data (no survey answered, no BG/NBD column) tells
    # the model nothing, and scikit-learn's binning cannot bin it ("window shape cannot be larger than
    # input array shape"): such features are left out of this fit, and the model lists the ones it uses.
    X_all = feature_matrix(features_T)
    known = np.isfinite(X_all).any(axis=0)
    if not known.any():
        raise ValueError("no churn feature has a known value in the training data")
    columns = tuple(column for column, keep in zip(FEATURE_COLUMNS, known, strict=True) if keep)
    X = X_all[:, known]
    started = time.perf_counter()
    with limited_threads():
        estimator = make_estimator().fit(X, y)
    seconds = time.perf_counter() - started
    medians = np.nanmedian(X, axis=0)
    reference = {
        column: float(value) if np.isfinite(value) else float("nan")
        for column, value in zip(columns, medians, strict=True)
    }
    return ChurnModel(
        estimator=estimator,
        feature_columns=columns,
        reference_values=reference,
        n_train=int(y.shape[0]),
        positives_share=float(y.mean()),
        fit_seconds=seconds,
        params={
            "n_iter": int(estimator.n_iter_),
            **{
                k: v
                for k, v in estimator.get_params().items()
                if k in ("learning_rate", "max_leaf_nodes", "min_samples_leaf", "l2_regularization")
            },
        },
    )


def _log_odds(probability: np.ndarray) -> np.ndarray:
    p = np.clip(probability, _EPS, 1.0 - _EPS)
    return np.log(p) - np.log1p(-p)


def predict_scores(model: ChurnModel, features: pd.DataFrame) -> np.ndarray:
    """P(churn) for each row of ``features``."""
    with limited_threads(SCORING_THREADS):
        return model.estimator.predict_proba(feature_matrix(features, model.feature_columns))[:, 1]


def contributions(model: ChurnModel, X: np.ndarray) -> np.ndarray:
    """Per-row, per-feature log-odds contribution (module docstring); shape (rows, features)."""
    result = np.zeros_like(X)
    with limited_threads(SCORING_THREADS):
        base = _log_odds(model.estimator.predict_proba(X)[:, 1])
        for j, column in enumerate(model.feature_columns):  # one vectorised pass per feature
            reference = model.reference_values[column]
            # Setting a value to itself changes nothing: those rows keep 0 (a quarter of all at 1M customers,
            # most of them in the complaint and SLA counts).
            at_reference = (X[:, j] == reference) | (np.isnan(X[:, j]) & np.isnan(reference))
            rows = np.flatnonzero(~at_reference)
            if rows.size == 0:
                continue
            replaced = X[rows]
            replaced[:, j] = reference
            result[rows, j] = base[rows] - _log_odds(model.estimator.predict_proba(replaced)[:, 1])
    return result


def top_reasons(contribution: np.ndarray, columns: tuple[str, ...], k: int = TOP_REASONS) -> list[np.ndarray]:
    """The k features raising each row's risk most (object arrays, None where fewer than k raise it)."""
    order = np.argsort(-contribution, axis=1, kind="stable")[:, :k]
    names = np.asarray(columns, dtype=object)
    reasons = []
    for rank in range(k):
        index = order[:, rank]
        value = np.take_along_axis(contribution, order[:, rank : rank + 1], axis=1)[:, 0]
        reasons.append(np.where(value > MIN_REASON_LOG_ODDS, names[index], None))
    return reasons


def bands(score: np.ndarray) -> np.ndarray:
    """'high' from HIGH_BAND_MIN_SCORE, 'medium' from MEDIUM_BAND_MIN_SCORE, else 'low'."""
    return np.where(
        score >= HIGH_BAND_MIN_SCORE, "high", np.where(score >= MEDIUM_BAND_MIN_SCORE, "medium", "low")
    ).astype(object)


def score(model: ChurnModel, features_now: pd.DataFrame) -> pd.DataFrame:
    """customer_id, churn_score, churn_band ('low' | 'medium' | 'high'), top_reason_1..3 for each row."""
    import pandas as pd

    X = feature_matrix(features_now, model.feature_columns)
    churn_score = predict_scores(model, features_now)
    reasons = top_reasons(contributions(model, X), model.feature_columns)
    return pd.DataFrame(
        {
            "customer_id": features_now["customer_id"].to_numpy(),
            "churn_score": churn_score,
            "churn_band": bands(churn_score),
            **{f"top_reason_{rank + 1}": reason for rank, reason in enumerate(reasons)},
        }
    )
