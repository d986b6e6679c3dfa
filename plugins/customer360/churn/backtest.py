"""Time-split backtest of the churn model against three baselines (``customer360.churn.baselines``).

Features are as of T = R - horizon (data up to T only, R the refit date) and the label is what happened in
(T, R], so nothing from the label period leaks into the features. The customers of T are split at random
(stratified on the label, fixed seed, rows in a canonical order that does not depend on customer ids) into a
training part and a held-out part; the model is fitted on the first and scored on the second, and each
baseline is scored on the same held-out customers. That fitted model is the one the stage scores with: the
AUC a run reports is the scoring model's own.

Metrics, for the model and each baseline:
- ROC AUC;
- precision in the top decile (share of actual churners among the 10% with the highest score: what a
  retention campaign that contacts one customer in ten would hit);
- calibration: the Brier score and the expected calibration error (mean |observed churn share - mean
  predicted probability| over ten equal-count bins, weighted by bin size) of the probability the stage would
  publish: the model's own probability, or the baseline's score through an isotonic calibration fitted on
  the training part.

The model is used only when its AUC beats every baseline's; otherwise the stage publishes the best baseline.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from customer360.churn.baselines import BASELINES, NO_PURCHASE_PROBABILITY, Calibration, baseline_score
from customer360.churn.model import RANDOM_SEED, ChurnModel, predict_scores, train

if TYPE_CHECKING:
    import pandas as pd

HOLDOUT_SHARE = 0.25
TOP_SHARE = 0.10


CALIBRATION_BINS = 10


@dataclass(frozen=True)
class ScoreMetrics:
    auc: float
    precision_top_decile: float
    brier: float
    calibration_error: float


@dataclass(frozen=True)
class BacktestResult:
    auc: float
    precision_top_decile: float
    baseline_auc: float  # the Pareto/NBD baseline (1 - P(alive) over the horizon)
    baseline_precision_top_decile: float
    n_train: int
    n_test: int
    positives_share: float
    brier: float = float("nan")
    calibration_error: float = float("nan")
    baselines: dict[str, ScoreMetrics] = field(default_factory=dict)

    @property
    def best_baseline(self) -> str:
        """The baseline with the highest AUC (the first of BASELINES on a tie)."""
        ranked = [name for name in BASELINES if name in self.baselines]
        aucs = [self.baselines[name].auc for name in ranked]
        return (
            ranked[int(np.nanargmax(aucs))] if ranked and np.isfinite(aucs).any() else NO_PURCHASE_PROBABILITY
        )

    @property
    def beats_baseline(self) -> bool:
        """True when the model's AUC is above every baseline's."""
        others = [m.auc for m in self.baselines.values()] or [self.baseline_auc]
        return bool(np.isfinite(self.auc)) and all(self.auc > a for a in others if np.isfinite(a))

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["baselines"] = {name: asdict(m) for name, m in self.baselines.items()}
        return data


def precision_at_top(y: np.ndarray, score: np.ndarray, share: float = TOP_SHARE) -> float:
    """Share of positives among the ceil(share * n) highest scores (ties broken by row order)."""
    y = np.asarray(y, dtype=bool)
    if y.shape[0] == 0:
        return float("nan")
    k = max(1, int(np.ceil(share * y.shape[0])))
    top = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")[:k]
    return float(y[top].mean())


def calibration(y: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS) -> tuple[float, float]:
    """(Brier score, expected calibration error over ``bins`` equal-count bins of the probability)."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(probability, dtype=np.float64)
    if y.shape[0] == 0:
        return float("nan"), float("nan")
    order = np.argsort(p, kind="stable")
    error = 0.0
    for part in np.array_split(order, min(bins, y.shape[0])):  # ten slices, each vectorised
        error += part.shape[0] * abs(float(y[part].mean()) - float(p[part].mean()))
    return float(np.mean((p - y) ** 2)), error / y.shape[0]


def score_metrics(y: np.ndarray, score: np.ndarray, probability: np.ndarray) -> ScoreMetrics:
    auc, precision = evaluate(y, score)
    brier, calibration_error = calibration(y, probability)
    return ScoreMetrics(auc, precision, brier, calibration_error)


def evaluate(y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """(ROC AUC, precision at the top decile); AUC is NaN when only one class is present."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=bool)
    auc = float(roc_auc_score(y, score)) if 0 < y.sum() < y.shape[0] else float("nan")
    return auc, precision_at_top(y, score)


def baseline_metrics(
    train_part: pd.DataFrame, y_train: np.ndarray, test_part: pd.DataFrame, y_test: np.ndarray
) -> dict[str, ScoreMetrics]:
    """Each baseline on the held-out part; its calibration is fitted on the training part."""
    metrics = {}
    for name in BASELINES:
        test_score = baseline_score(name, test_part)
        calibrated = Calibration.fit(baseline_score(name, train_part), y_train).apply(test_score)
        metrics[name] = score_metrics(y_test, test_score, calibrated)
    return metrics


def backtest(
    features_T: pd.DataFrame,
    labels: np.ndarray,
    holdout_share: float = HOLDOUT_SHARE,
    seed: int = RANDOM_SEED,
) -> tuple[BacktestResult, ChurnModel]:
    """Fit on a stratified (1 - holdout_share) of T's customers; evaluate on the rest next to the baselines.
    Returns the result and the fitted model."""
    from sklearn.model_selection import train_test_split

    y = np.asarray(labels, dtype=bool)
    rows = np.arange(y.shape[0])
    train_rows, test_rows = train_test_split(rows, test_size=holdout_share, stratify=y, random_state=seed)
    model = train(features_T.iloc[train_rows], y[train_rows])
    test = features_T.iloc[test_rows]
    probability = predict_scores(model, test)
    model_metrics = score_metrics(y[test_rows], probability, probability)
    baselines = baseline_metrics(features_T.iloc[train_rows], y[train_rows], test, y[test_rows])
    no_purchase = baselines[NO_PURCHASE_PROBABILITY]
    result = BacktestResult(
        auc=model_metrics.auc,
        precision_top_decile=model_metrics.precision_top_decile,
        baseline_auc=no_purchase.auc,
        baseline_precision_top_decile=no_purchase.precision_top_decile,
        n_train=int(train_rows.shape[0]),
        n_test=int(test_rows.shape[0]),
        positives_share=float(y.mean()),
        brier=model_metrics.brier,
        calibration_error=model_metrics.calibration_error,
        baselines=baselines,
    )
    return result, model
