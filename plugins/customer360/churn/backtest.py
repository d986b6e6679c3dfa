"""Time-split backtest of the churn model against the baseline 1 - P(alive).

Features are as of T = as_of_date - horizon (data up to T only) and the label is what happened in
(T, T + horizon], so nothing from the label period leaks into the features. The customers of T are split at
random (stratified on the label) into a training part and a held-out part; the model is fitted on the first
and scored on the second, and the baseline 1 - P(alive) is scored on the same held-out customers. That fitted
model is the one the stage scores today's customers with: the AUC a run reports is the scoring model's own,
and a run fits one model, not two (a refit on all of T would add a third more training rows at the price of a
second fit).

Metrics: ROC AUC, and precision in the top decile (share of actual churners among the 10% with the highest
score: what a retention campaign that contacts one customer in ten would hit).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from customer360.churn.model import RANDOM_SEED, ChurnModel, baseline_scores, predict_scores, train

if TYPE_CHECKING:
    import pandas as pd

HOLDOUT_SHARE = 0.25
TOP_SHARE = 0.10


@dataclass(frozen=True)
class BacktestResult:
    auc: float
    precision_top_decile: float
    baseline_auc: float
    baseline_precision_top_decile: float
    n_train: int
    n_test: int
    positives_share: float

    @property
    def beats_baseline(self) -> bool:
        return self.auc > self.baseline_auc

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def precision_at_top(y: np.ndarray, score: np.ndarray, share: float = TOP_SHARE) -> float:
    """Share of positives among the ceil(share * n) highest scores (ties broken by row order)."""
    y = np.asarray(y, dtype=bool)
    if y.shape[0] == 0:
        return float("nan")
    k = max(1, int(np.ceil(share * y.shape[0])))
    top = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")[:k]
    return float(y[top].mean())


def evaluate(y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """(ROC AUC, precision at the top decile); AUC is NaN when only one class is present."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=bool)
    auc = float(roc_auc_score(y, score)) if 0 < y.sum() < y.shape[0] else float("nan")
    return auc, precision_at_top(y, score)


def backtest(
    features_T: pd.DataFrame,
    labels: np.ndarray,
    holdout_share: float = HOLDOUT_SHARE,
    seed: int = RANDOM_SEED,
) -> tuple[BacktestResult, ChurnModel]:
    """Fit on a stratified (1 - holdout_share) of T's customers; evaluate on the rest next to the baseline.
    Returns the result and the fitted model."""
    from sklearn.model_selection import train_test_split

    y = np.asarray(labels, dtype=bool)
    rows = np.arange(y.shape[0])
    train_rows, test_rows = train_test_split(rows, test_size=holdout_share, stratify=y, random_state=seed)
    model = train(features_T.iloc[train_rows], y[train_rows])
    test = features_T.iloc[test_rows]
    auc, precision = evaluate(y[test_rows], predict_scores(model, test))
    baseline_auc, baseline_precision = evaluate(y[test_rows], baseline_scores(test))
    result = BacktestResult(
        auc=auc,
        precision_top_decile=precision,
        baseline_auc=baseline_auc,
        baseline_precision_top_decile=baseline_precision,
        n_train=int(train_rows.shape[0]),
        n_test=int(test_rows.shape[0]),
        positives_share=float(y.mean()),
    )
    return result, model
