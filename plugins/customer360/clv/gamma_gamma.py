"""Gamma-Gamma model of spend per purchase (Fader & Hardie 2005, "The Gamma-Gamma model of monetary value").

Each purchase of a customer is Gamma(p, nu) with the customer's nu ~ Gamma(q, v); the mean m_x of x purchases
then has density

    f(m_x | p, q, v, x) = G(px+q) / (G(px) G(q)) * v^q x^(px) m_x^(px-1) / (v + x m_x)^(px+q)

so the per-customer log-likelihood is

    lnG(px+q) - lnG(px) - lnG(q) + q ln v + px ln x + (px-1) ln m_x - (px+q) ln(v + x m_x).

It is fitted on customers with at least one repeat purchase and a positive mean repeat spend. The model
assumes spend per purchase is independent of purchase frequency; check that the correlation is weak before
trusting it.

Conditional expectation of a customer's mean spend (needs q > 1, otherwise the mean is infinite):

    E[M | p, q, v, x, m_x] = p (v + x m_x) / (px + q - 1)

a weighted average of the population mean p v/(q-1) and the customer's own mean m_x, weight px/(px+q-1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import digamma, gammaln

from customer360.clv.mle import ModelFit, ModelParams, Objective, maximize_log_likelihood

MODEL_NAME = "gamma_gamma"
PARAM_NAMES = ("p", "q", "v")


@dataclass(frozen=True)
class GammaGammaParams(ModelParams):
    p: float
    q: float
    v: float

    @property
    def has_finite_mean(self) -> bool:
        return self.q > 1.0

    @property
    def population_mean_spend(self) -> float:
        """E[spend per purchase] over the population: p v / (q - 1) (infinite when q <= 1)."""
        return self.p * self.v / (self.q - 1.0) if self.has_finite_mean else float("inf")


def log_likelihood(params: GammaGammaParams, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """Per-customer log-likelihood of the mean spend ``m_x`` over ``x`` purchases (x > 0, m_x > 0)."""
    x = np.asarray(x, dtype=np.float64)
    m_x = np.asarray(m_x, dtype=np.float64)
    p, q, v = params.p, params.q, params.v
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + px * np.log(x)
        + (px - 1.0) * np.log(m_x)
        - (px + q) * np.log(v + x * m_x)
    )


def _objective(x: np.ndarray, m_x: np.ndarray) -> Objective:
    n = float(x.shape[0])
    log_x, log_m = np.log(x), np.log(m_x)

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(log_params)
        px = p * x
        log_total = np.log(v + x * m_x)
        ll = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v)
            + px * log_x
            + (px - 1.0) * log_m
            - (px + q) * log_total
        )
        psi_pxq = digamma(px + q)
        d_p = x * (psi_pxq - digamma(px) + log_x + log_m - log_total)
        d_q = psi_pxq - digamma(q) + np.log(v) - log_total
        d_v = q / v - (px + q) / (v + x * m_x)
        grad = np.array([d_p.sum() * p, d_q.sum() * q, d_v.sum() * v])
        value = -float(ll.sum()) / n
        if not np.isfinite(value):
            return np.inf, np.zeros(3)
        return value, -grad / n

    return objective


def usable(x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """Customers the model can be fitted on: at least one repeat purchase and a positive mean spend."""
    x = np.asarray(x, dtype=np.float64)
    m_x = np.asarray(m_x, dtype=np.float64)
    return (x > 0) & np.isfinite(m_x) & (m_x > 0)


def fit(x: np.ndarray, m_x: np.ndarray) -> ModelFit:
    """Maximum likelihood p, q, v on customers with x > 0 and m_x > 0 (others are left out)."""
    keep = usable(x, m_x)
    x = np.asarray(x, dtype=np.float64)[keep]
    m_x = np.asarray(m_x, dtype=np.float64)[keep]
    # Start at p = 1, q = 2 with v matching the observed mean spend (population mean = p v / (q - 1)).
    start = (1.0, 2.0, float(np.mean(m_x)) if m_x.size else 1.0)
    result = maximize_log_likelihood(MODEL_NAME, PARAM_NAMES, _objective(x, m_x), start, int(x.shape[0]))
    if result.fitted and result.params["q"] <= 1.0:
        return replace(
            result,
            status="fallback",
            message=(
                f"gamma_gamma fit has q = {result.params['q']:.3f} <= 1, so the expected spend is infinite "
                "(spend is too heavy-tailed for the model): check for outliers or extreme order values"
            ),
        )
    return result


def conditional_expected_spend(params: GammaGammaParams, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """E[mean spend per purchase | x, m_x]; customers without repeat purchases get the population mean."""
    x = np.asarray(x, dtype=np.float64)
    m_x = np.asarray(m_x, dtype=np.float64)
    own = np.where(np.isfinite(m_x), np.maximum(m_x, 0.0), 0.0)
    x_used = np.where(np.isfinite(m_x), x, 0.0)
    return params.p * (params.v + x_used * own) / (params.p * x_used + params.q - 1.0)
