"""Per-customer CLV predictions from fitted (or fallen-back) models.

For every customer in the summary:

- ``p_alive``: Pareto/NBD P(active at the observation end) (``customer360.clv.pareto_nbd``; one-time buyers
  can have left too).
- ``expected_purchases_90d`` / ``_365d``: Pareto/NBD conditional expected purchase days in the next 90 / 365
  days.
- ``expected_avg_spend``: Gamma-Gamma conditional expected spend per purchase day.
- ``predicted_clv_12m``, discounted monthly with annual rate d over months of 365/12 days:

      CLV_12m = sum_{m=1..12} [E Y(m 365/12) - E Y((m-1) 365/12)] * spend * margin_share / (1 + d)^(m/12)

  where E Y(t) is the expected number of purchase days in (T, T+t]. ``margin_share`` is the customer's
  historical margin / net amount when the margin is known (CLV in margin), else the median share of the
  customers whose margin is known, else 1 (CLV in revenue).

Fallbacks (``model_status = 'fallback'``; the run's message says which model fell back and why):

- purchases: a historical rate, the customer's repeat purchase days per day of age blended with the pooled
  rate of all customers as if each customer had ``FALLBACK_PRIOR_DAYS`` more days at the pooled rate:
  rate_i = (x_i + R * k) / (T_i + k), R = sum(x) / sum(T), k = FALLBACK_PRIOR_DAYS; E Y(t) = rate_i * t.
  ``p_alive`` becomes the heuristic exp(-rate_i * (T_i - t_x,i)), the chance of the observed silence since the
  last purchase under that rate (1 without a repeat purchase).
- spend: the customer's historical mean net amount per purchase day (first purchase included), floored at 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from customer360.clv import bgnbd, gamma_gamma, pareto_nbd
from customer360.clv.fit import ClvModels
from customer360.clv.summary import CustomerSummary

if TYPE_CHECKING:
    import pyarrow as pa

SHORT_HORIZON_DAYS = 90
LONG_HORIZON_DAYS = 365
CLV_MONTHS = 12
# Pseudo-days at the pooled rate added to each customer's history in the fallback rate.
FALLBACK_PRIOR_DAYS = 365.0

PREDICTION_COLUMNS = (
    "customer_id",
    "as_of_date",
    "frequency",
    "recency_days",
    "tenure_days",
    "avg_order_value",
    "p_alive",
    "expected_purchases_90d",
    "expected_purchases_365d",
    "expected_avg_spend",
    "predicted_clv_12m",
    "model_status",
)


@dataclass(frozen=True)
class Population:
    """What a customer's prediction needs from all customers: the pooled repeat rate sum(x) / sum(T) of the
    fallback, and the median known margin share (1 when none is known). Computed from the whole summary
    (``population``), or passed in where the customers are scored in batches (``customer360.spark.clv``)."""

    pooled_rate: float
    default_margin_share: float


def pooled_rate(total_frequency: float, total_tenure_days: float) -> float:
    return total_frequency / total_tenure_days if total_tenure_days > 0 else 0.0


def population(summary: CustomerSummary) -> Population:
    known = np.isfinite(summary.margin_share)
    return Population(
        pooled_rate=pooled_rate(float(summary.frequency.sum()), float(summary.tenure_days.sum())),
        default_margin_share=float(np.median(summary.margin_share[known])) if known.any() else 1.0,
    )


def fallback_rate(summary: CustomerSummary, people: Population | None = None) -> np.ndarray:
    """Historical repeat purchase days per day, shrunk toward the pooled rate (see module docstring)."""
    pooled = (people or population(summary)).pooled_rate
    return (summary.frequency + pooled * FALLBACK_PRIOR_DAYS) / (summary.tenure_days + FALLBACK_PRIOR_DAYS)


# The purchase models the predictions can come from, by ``ModelFit.model``: the pipeline fits Pareto/NBD;
# BG/NBD stays for measuring it against (``scripts/clv_alternatives.py``).
PURCHASE_MODELS = {
    pareto_nbd.MODEL_NAME: (pareto_nbd, pareto_nbd.ParetoNbdParams),
    bgnbd.MODEL_NAME: (bgnbd, bgnbd.BgNbdParams),
}


def _fitted_purchase_model(models: ClvModels):  # noqa: ANN202 - (module, its params dataclass)
    module, params_type = PURCHASE_MODELS[models.purchases.model]
    return module, params_type.from_dict(models.purchases.params)


def purchase_model(
    summary: CustomerSummary, models: ClvModels, people: Population | None = None
) -> tuple[np.ndarray, Callable[[float], np.ndarray]]:
    """(p_alive, t -> expected purchase days in (T, T+t]) from the purchase model's fit or its fallback."""
    x, t_x, T = summary.frequency, summary.recency_days, summary.tenure_days
    if models.purchases.fitted:
        module, params = _fitted_purchase_model(models)
        return module.p_alive(params, x, t_x, T), lambda t: module.conditional_expected_purchases(
            params, t, x, t_x, T
        )
    rate = fallback_rate(summary, people)
    alive = np.where(x > 0, np.exp(-rate * (T - t_x)), 1.0)
    return alive, lambda t: rate * t


def no_purchase_probability(
    summary: CustomerSummary, models: ClvModels, days: float, people: Population | None = None
) -> np.ndarray:
    """P(no purchase day in (T, T+days]) from the purchase model (``probability_no_purchase``) or, under
    the fallback, 1 - p_alive + p_alive exp(-rate_i days) with the fallback's heuristic p_alive and rate
    (``people``: the whole summary's statistics when ``summary`` is one batch of it)."""
    x, t_x, T = summary.frequency, summary.recency_days, summary.tenure_days
    if models.purchases.fitted:
        module, params = _fitted_purchase_model(models)
        return module.probability_no_purchase(params, days, x, t_x, T)
    rate = fallback_rate(summary, people)
    alive = np.where(x > 0, np.exp(-rate * (T - t_x)), 1.0)
    return 1.0 - alive + alive * np.exp(-rate * days)


def expected_spend(summary: CustomerSummary, models: ClvModels) -> np.ndarray:
    """Expected spend per purchase day from the Gamma-Gamma fit or the historical-mean fallback."""
    if models.gamma_gamma.fitted:
        params = gamma_gamma.GammaGammaParams.from_dict(models.gamma_gamma.params)
        return gamma_gamma.conditional_expected_spend(params, summary.frequency, summary.repeat_avg_spend)
    history = summary.avg_purchase_day_spend
    return np.where(np.isfinite(history), np.maximum(history, 0.0), 0.0)


def margin_shares(summary: CustomerSummary, people: Population | None = None) -> np.ndarray:
    default = (people or population(summary)).default_margin_share
    return np.where(np.isfinite(summary.margin_share), summary.margin_share, default)


def discounted_clv(
    expected_purchases: Callable[[float], np.ndarray],
    spend: np.ndarray,
    margin: np.ndarray,
    annual_rate: float,
) -> np.ndarray:
    """Sum over CLV_MONTHS months of expected purchases in the month x spend x margin / (1+d)^(m/12)."""
    if annual_rate <= -1.0:
        raise ValueError(f"the annual discount rate must be above -100%, not {annual_rate:.2%}")
    month = LONG_HORIZON_DAYS / CLV_MONTHS
    value = np.zeros_like(spend)
    previous = np.zeros_like(spend)
    for m in range(1, CLV_MONTHS + 1):  # 12 vectorised steps over all customers, not a loop over customers
        cumulative = expected_purchases(m * month)
        value += (cumulative - previous) / (1.0 + annual_rate) ** (m / CLV_MONTHS)
        previous = cumulative
    return value * spend * margin


def predict(
    summary: CustomerSummary,
    models: ClvModels,
    annual_discount_rate: float,
    people: Population | None = None,
) -> pa.Table:
    """One row per customer with PREDICTION_COLUMNS, as an Arrow table; ``people`` of all customers when
    ``summary`` holds some of them only (a batch), else computed from ``summary``."""
    import pyarrow as pa

    people = people or population(summary)
    alive, expected_purchases = purchase_model(summary, models, people)
    spend = expected_spend(summary, models)
    clv = discounted_clv(expected_purchases, spend, margin_shares(summary, people), annual_discount_rate)
    n = summary.n_customers
    return pa.table(
        {
            "customer_id": pa.array(summary.customer_id, pa.string()),
            "as_of_date": pa.repeat(pa.scalar(summary.observation_end, pa.date32()), n),
            "frequency": pa.array(summary.frequency.astype(np.int64)),
            "recency_days": pa.array(summary.recency_days.astype(np.int64)),
            "tenure_days": pa.array(summary.tenure_days.astype(np.int64)),
            "avg_order_value": pa.array(summary.avg_order_value, pa.float64(), from_pandas=True),
            "p_alive": pa.array(alive, pa.float64()),
            "expected_purchases_90d": pa.array(expected_purchases(SHORT_HORIZON_DAYS), pa.float64()),
            "expected_purchases_365d": pa.array(expected_purchases(LONG_HORIZON_DAYS), pa.float64()),
            "expected_avg_spend": pa.array(spend, pa.float64()),
            "predicted_clv_12m": pa.array(clv, pa.float64()),
            "model_status": pa.repeat(pa.scalar(models.status, pa.string()), n),
        }
    )
