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

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import digamma, gammaln

from customer360.clv.mle import ModelFit, ModelParams, Objective, as_float_arrays, maximize_log_likelihood

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


# The sums over all customers that depend on v, with T = v + x m_x: sum ln T, sum x ln T, sum 1 / T and
# sum x / T. An engine computes them at each optimiser step (``spark.clv.fit_spend``: one aggregate).
SumsAtV = Callable[[float], tuple[float, float, float, float]]


@dataclass(frozen=True)
class SpendGroups:
    """Gamma-Gamma's customers grouped by their number of repeat purchases x: what its likelihood needs from
    them apart from the sums over T = v + x m_x (``SumsAtV``). Per customer, ``_objective``'s terms are a
    function of x and the parameters, plus (px - 1) ln m_x, minus (px + q) ln T; summed, the first two are
    per distinct x (its count and sum of ln m_x), the last is p sum x ln T + q sum ln T, and the gradient
    needs sum 1 / T and sum x / T besides."""

    x: np.ndarray  # distinct x, ascending
    count: np.ndarray  # customers of each x
    sum_log_m: np.ndarray  # sum of ln m_x over each x's customers
    mean_m: float  # mean m_x over all of them: the optimiser's start, as in ``fit``

    @property
    def n_customers(self) -> int:
        return int(self.count.sum())


def grouped_objective(groups: SpendGroups, sums_at_v: SumsAtV) -> Objective:
    """``_objective`` over ``groups``: the same mean negative log-likelihood and gradient, its sums taken per
    distinct x and over T = v + x m_x instead of per customer (equal up to the order of the additions)."""
    x, count, sum_log_m = as_float_arrays(groups.x, groups.count, groups.sum_log_m)
    n = float(count.sum())
    log_x = np.log(x)

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(log_params)
        log_total, x_log_total, inverse_total, x_inverse_total = sums_at_v(float(v))
        px = p * x
        ll = (
            count * (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + px * log_x)
            + (px - 1.0) * sum_log_m
        ).sum() - (p * x_log_total + q * log_total)
        psi_pxq = digamma(px + q)
        d_p = (x * (count * (psi_pxq - digamma(px) + log_x) + sum_log_m)).sum() - x_log_total
        d_q = (count * (psi_pxq - digamma(q) + np.log(v))).sum() - log_total
        d_v = n * q / v - (p * x_inverse_total + q * inverse_total)
        grad = np.array([d_p * p, d_q * q, d_v * v])
        value = -float(ll) / n
        if not np.isfinite(value):
            return np.inf, np.zeros(3)
        return value, -grad / n

    return objective


def fit_grouped(groups: SpendGroups, sums_at_v: SumsAtV) -> ModelFit:
    """``fit`` on customers grouped by x (``SpendGroups``, all of them usable), the sums over ``v + x m_x``
    taken by ``sums_at_v`` at each step: the same start, optimiser and checks, so the same fit up to the
    order of the additions."""
    start = (1.0, 2.0, groups.mean_m if groups.n_customers else 1.0)
    objective = grouped_objective(groups, sums_at_v)
    return _checked(maximize_log_likelihood(MODEL_NAME, PARAM_NAMES, objective, start, groups.n_customers))


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
    return _checked(
        maximize_log_likelihood(MODEL_NAME, PARAM_NAMES, _objective(x, m_x), start, int(x.shape[0]))
    )


def _checked(result: ModelFit) -> ModelFit:
    """A converged fit with q <= 1 falls back: its expected spend is infinite."""
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
