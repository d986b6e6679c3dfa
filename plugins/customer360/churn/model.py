"""Churn model: train on features as of T with labels from (T, T + horizon], score customers as of today.

Estimator: an L2-regularised logistic regression (scikit-learn ``Pipeline``) on ``MODEL_FEATURES``: the
purchase model's probability of no purchase in the horizon (the Pareto/NBD baseline, as log-odds) and what
that baseline cannot see, the complaints and SLA breaches since the customer's last purchase (as log(1 + x));
missing values as the training median plus a 0/1 "was missing" column, then standardised.

Why so few inputs: the model is trained at T = R - horizon and scores at D >= R, and on a short history T
has half the data D has (on 180 days, 90 days of history against 180). Features that grow with the history
(recency, repeat purchases, tenure, spend, 90-day counts, the latest survey) mean something else at T than
at D: with them the model won its backtest (scored at T) but trailed the baseline on what happened after D.
The Pareto/NBD probability already reads recency relative to the customer's own purchase rate and tenure,
in a form that holds for any history length; the counts since the last purchase mean the same at T and D.
(Measured in issue 21 on the generator's truth and on CDNOW: DECISIONLOG.md, "Churn model inputs".) The
feature table keeps every column of ``customer360.churn.features`` for the baselines and analysts.

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

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

# Band thresholds on the churn score (candidates for Settings.churn_band_high / churn_band_medium).
HIGH_BAND_MIN_SCORE = 0.6
MEDIUM_BAND_MIN_SCORE = 0.3
TOP_REASONS = 3
# Contributions below this (log-odds) are noise, not reasons.
MIN_REASON_LOG_ODDS = 1e-3
RANDOM_SEED = 20250101
# BLAS/OpenMP threads for fitting and for scoring (candidates for Settings). The pipeline shares small
# machines with other tasks, where more busy threads than cores make threaded numeric code wait on each other;
# one thread fits predictably, and scoring with reasons (one pass per feature over every customer) gains
# from a second one.
MODEL_THREADS = 1
SCORING_THREADS = 2

_EPS = 1e-9


@dataclass
class ChurnModel:
    estimator: Pipeline
    feature_columns: tuple[str, ...]
    reference_values: dict[str, float]
    n_train: int
    positives_share: float
    fit_seconds: float
    params: dict[str, object] = field(default_factory=dict)
    # Each feature's (min, max) among the training customers: scoring clips to it (``within_training_range``).
    feature_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)


@contextmanager
def limited_threads(threads: int = MODEL_THREADS) -> Iterator[None]:
    """Cap OpenMP/BLAS threads at ``threads`` while the estimator fits or predicts."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        yield


# The model's inputs among the feature table's columns (module docstring).
MODEL_FEATURES = (
    "p_no_purchase_horizon",
    "complaints_since_last_purchase",
    "sla_breaches_since_last_purchase",
)


def feature_matrix(features: pd.DataFrame, columns: tuple[str, ...] = MODEL_FEATURES) -> np.ndarray:
    return features.loc[:, list(columns)].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)


# How each feature enters the logistic model (module docstring); a feature not listed enters as it is.
LOG1P_FEATURES = frozenset(
    {
        "recency_days",
        "frequency",
        "monetary",
        "tenure_days",
        "complaints_90d",
        "sla_breaches_90d",
        "complaints_since_last_purchase",
        "sla_breaches_since_last_purchase",
        "expected_purchases_90d",
    }
)
LOG_FEATURES = frozenset({"trend_ratio"})
LOGIT_FEATURES = frozenset({"p_alive", "p_no_purchase_horizon"})
# Inverse L2 strength: the training sets of small shops hold a few hundred customers.
REGULARISATION_C = 0.3
_PROBABILITY_CLIP = 1e-4


def transform_features(X: np.ndarray, columns: tuple[str, ...]) -> np.ndarray:
    """The model's inputs from the raw feature matrix (columns named by ``columns``); NaN stays NaN."""
    out = np.array(X, dtype=np.float64, copy=True)
    for j, column in enumerate(columns):
        if column in LOG1P_FEATURES:
            out[:, j] = np.log1p(np.clip(out[:, j], 0.0, None))
        elif column in LOG_FEATURES:
            out[:, j] = np.log(np.clip(out[:, j], _EPS, None))
        elif column in LOGIT_FEATURES:
            p = np.clip(out[:, j], _PROBABILITY_CLIP, 1.0 - _PROBABILITY_CLIP)
            out[:, j] = np.log(p) - np.log1p(-p)
    return out


def make_estimator(columns: tuple[str, ...] = MODEL_FEATURES) -> Pipeline:
    """The churn estimator for the raw feature columns ``columns`` (module docstring)."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return make_pipeline(
        FunctionTransformer(transform_features, kw_args={"columns": tuple(columns)}),
        SimpleImputer(strategy="median", add_indicator=True),
        StandardScaler(),
        LogisticRegression(C=REGULARISATION_C, max_iter=2000, random_state=RANDOM_SEED),
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
    # A feature without one known value in the training data (no survey answered, no purchase-model column)
    # tells the model nothing and has no median to impute: such features are left out of this fit, and the
    # model lists the ones it uses.
    X_all = feature_matrix(features_T)
    known = np.isfinite(X_all).any(axis=0)
    if not known.any():
        raise ValueError("no churn feature has a known value in the training data")
    columns = tuple(column for column, keep in zip(MODEL_FEATURES, known, strict=True) if keep)
    X = X_all[:, known]
    started = time.perf_counter()
    with limited_threads():
        estimator = make_estimator(columns).fit(X, y)
    seconds = time.perf_counter() - started
    medians = np.nanmedian(X, axis=0)
    reference = {
        column: float(value) if np.isfinite(value) else float("nan")
        for column, value in zip(columns, medians, strict=True)
    }
    low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    return ChurnModel(
        feature_ranges={
            column: (float(lo), float(hi)) for column, lo, hi in zip(columns, low, high, strict=True)
        },
        estimator=estimator,
        feature_columns=columns,
        reference_values=reference,
        n_train=int(y.shape[0]),
        positives_share=float(y.mean()),
        fit_seconds=seconds,
        params={
            "n_iter": int(estimator[-1].n_iter_[0]),
            "C": REGULARISATION_C,
            "coefficients": dict(
                zip(_input_names(columns, estimator), (float(c) for c in estimator[-1].coef_[0]), strict=True)
            ),
        },
    )


def _input_names(columns: tuple[str, ...], estimator: Pipeline) -> list[str]:
    """The logistic model's inputs: the features, then a ``<feature>_missing`` column per imputed one."""
    imputer = estimator[1]
    missing = [] if imputer.indicator_ is None else list(imputer.indicator_.features_)
    return [*columns, *(f"{columns[j]}_missing" for j in missing)]


def _log_odds(probability: np.ndarray) -> np.ndarray:
    p = np.clip(probability, _EPS, 1.0 - _EPS)
    return np.log(p) - np.log1p(-p)


def within_training_range(model: ChurnModel, X: np.ndarray) -> np.ndarray:
    """``X`` with each feature clipped to the range the model saw in training (NaN stays NaN).

    A linear model extrapolates without limit, and the scoring date's features can lie beyond the training
    date's: tenure and frequency grow with the data's age (on 180 days of data, the training date T = R - 90
    has at most 90 days of history, the scoring date twice that). Beyond the range it learned, the model
    keeps the edge's effect rather than extending the line. Probabilities are not clipped: a probability
    already means the same for any history length, and clipping would tie the customers beyond the edge."""
    clipped = np.array(X, dtype=np.float64, copy=True)
    for j, column in enumerate(model.feature_columns):
        if column in model.feature_ranges and column not in LOGIT_FEATURES:
            low, high = model.feature_ranges[column]
            clipped[:, j] = np.clip(clipped[:, j], low, high)
    return clipped


def predict_scores(model: ChurnModel, features: pd.DataFrame) -> np.ndarray:
    """P(churn) for each row of ``features`` (clipped to the training range)."""
    X = within_training_range(model, feature_matrix(features, model.feature_columns))
    with limited_threads(SCORING_THREADS):
        return model.estimator.predict_proba(X)[:, 1]


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
    for rank in range(min(k, len(columns))):
        index = order[:, rank]
        value = np.take_along_axis(contribution, order[:, rank : rank + 1], axis=1)[:, 0]
        reasons.append(np.where(value > MIN_REASON_LOG_ODDS, names[index], None))
    # fewer features than reasons (a feature left out of the fit): the remaining reasons are empty
    reasons += [np.full(contribution.shape[0], None, dtype=object)] * (k - len(reasons))
    return reasons


def bands(score: np.ndarray) -> np.ndarray:
    """'high' from HIGH_BAND_MIN_SCORE, 'medium' from MEDIUM_BAND_MIN_SCORE, else 'low'."""
    return np.where(
        score >= HIGH_BAND_MIN_SCORE, "high", np.where(score >= MEDIUM_BAND_MIN_SCORE, "medium", "low")
    ).astype(object)


def score(model: ChurnModel, features_now: pd.DataFrame) -> pd.DataFrame:
    """customer_id, churn_score, churn_band ('low' | 'medium' | 'high'), top_reason_1..3 for each row."""
    import pandas as pd

    X = within_training_range(model, feature_matrix(features_now, model.feature_columns))
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
