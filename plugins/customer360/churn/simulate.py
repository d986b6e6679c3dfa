"""Simulated churn feature tables with a known signal, for tests and demonstrations.

Customers follow BG/NBD (``customer360.clv.simulate``) except that each has a latent complaint propensity
kappa ~ Gamma(0.5, 1) (complaints per 90 days) that raises their dropout probability:
logit p = logit p0 + ``complaint_effect`` * kappa, p0 ~ Beta(a, b). Complaints, SLA breaches and survey
answers are drawn from kappa, so they carry information about churn that purchase history alone (and thus
BG/NBD's P(alive)) does not have. Features are built exactly as documented in ``customer360.churn.features``,
for the two feature dates the churn stage needs: T = as_of_date - horizon and as_of_date.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit, logit

from customer360.churn.features import purchase_features
from customer360.clv import pareto_nbd
from customer360.clv.bgnbd import BgNbdParams
from customer360.clv.gamma_gamma import GammaGammaParams
from customer360.clv.simulate import SimulatedCustomers, simulate_purchase_days

if TYPE_CHECKING:
    import pandas as pd

HISTORY_DAYS = 720
PURCHASES = BgNbdParams(r=0.6, alpha=60.0, a=0.8, b=3.0)
SPEND = GammaGammaParams(p=6.0, q=4.0, v=15.0)


def _service_features(
    kappa: np.ndarray, recency_days: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    n = kappa.shape[0]
    complaints = rng.poisson(kappa)
    breaches = rng.binomial(complaints, 0.3)
    # a complaint of the last 90 days falls after the last purchase with chance min(1, recency / 90)
    after = np.clip(np.nan_to_num(recency_days, nan=0.0) / 90.0, 0.0, 1.0)
    csat = np.clip(np.round(4.3 - 0.8 * kappa + rng.normal(0, 0.7, n)), 1, 5)
    nps = np.clip(np.round(8.0 - 1.5 * kappa + rng.normal(0, 1.5, n)), 0, 10)
    return {
        "complaints_90d": complaints.astype(np.float64),
        "sla_breaches_90d": breaches.astype(np.float64),
        "complaints_since_last_purchase": rng.binomial(complaints, after).astype(np.float64),
        "sla_breaches_since_last_purchase": rng.binomial(breaches, after).astype(np.float64),
        "last_csat": np.where(rng.random(n) < 0.4, csat, np.nan),
        "last_nps": np.where(rng.random(n) < 0.3, nps, np.nan),
    }


def _with_clv(features: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Add p_alive, expected_purchases_90d and p_no_purchase_horizon from a Pareto/NBD fit (the pipeline's
    purchase model) on the same date's purchase history."""
    x = features["frequency"].to_numpy()
    T = features["tenure_days"].to_numpy()
    t_x = T - features["recency_days"].to_numpy()
    params = pareto_nbd.ParetoNbdParams.from_dict(pareto_nbd.fit(x, t_x, T).params)
    features["p_alive"] = pareto_nbd.p_alive(params, x, t_x, T)
    features["expected_purchases_90d"] = pareto_nbd.conditional_expected_purchases(params, 90.0, x, t_x, T)
    features["p_no_purchase_horizon"] = pareto_nbd.probability_no_purchase(
        params, float(horizon_days), x, t_x, T
    )
    return features


def simulate_features(
    n_customers: int,
    as_of_date: date,
    horizon_days: int,
    rng: np.random.Generator,
    complaint_effect: float = 1.5,
) -> pd.DataFrame:
    """Feature rows (``features.REQUIRED_COLUMNS``) for T = as_of_date - horizon_days and for as_of_date."""
    import pandas as pd

    start = as_of_date - timedelta(days=HISTORY_DAYS)
    kappa = rng.gamma(0.5, 1.0, size=n_customers)
    p0 = np.clip(rng.beta(PURCHASES.a, PURCHASES.b, size=n_customers), 1e-6, 1 - 1e-6)
    customers = SimulatedCustomers(
        purchase_rate=rng.gamma(PURCHASES.r, 1.0 / PURCHASES.alpha, size=n_customers),
        dropout_probability=expit(logit(p0) + complaint_effect * kappa),
        spend_rate=rng.gamma(SPEND.q, 1.0 / SPEND.v, size=n_customers),
    )
    first = np.floor(rng.uniform(0, HISTORY_DAYS, size=n_customers))
    events = simulate_purchase_days(customers, SPEND.p, first, as_of_date, start, rng)
    ids = np.char.add("c", np.arange(n_customers).astype(str)).astype(object)
    purchase_days = pd.DataFrame(
        {
            "customer_id": ids[events["customer_index"]],
            "purchase_date": events["purchase_date"],
            "net_amount": events["net_amount"],
        }
    )
    frames = []
    for feature_date in (as_of_date - timedelta(days=horizon_days), as_of_date):
        features = purchase_features(purchase_days, feature_date)
        index = features["customer_id"].str.slice(1).astype(np.int64).to_numpy()
        service = pd.DataFrame(
            _service_features(kappa[index], features["recency_days"].to_numpy(dtype=np.float64), rng)
        )
        frames.append(_with_clv(pd.concat([features, service], axis=1), horizon_days))
    return pd.concat(frames, ignore_index=True)
