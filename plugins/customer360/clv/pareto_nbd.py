"""Pareto/NBD model of repeat purchases (Schmittlein, Morrison & Colombo 1987), the CLV purchase model.

While alive, a customer buys at Poisson rate lambda ~ Gamma(r, alpha); their lifetime is exponential with
rate mu ~ Gamma(s, beta), so they can leave at any moment, also before a first repeat purchase (BG/NBD lets
nobody leave before one: its P(alive) is 1 for every one-time buyer). Chosen over BG/NBD in issue 21: its
holdout error was smaller on CDNOW and on the generator (DECISIONLOG.md, "CLV purchase model").

For x repeat purchases, the last at t_x, observed for T (days here), the likelihood is (Fader & Hardie
2005, "A note on deriving the Pareto/NBD model and related expressions", eq. 19)

    L = G(r+x) alpha^r beta^s / G(r) * [ 1 / ((alpha+T)^(r+x) (beta+T)^s) + s/(r+s+x) A0 ]

with A0 = F(t_x) - F(T), where the note's F(tau) is 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+tau)) /
(alpha+tau)^(r+s+x) when alpha >= beta (and the mirror form with r+x, beta when alpha < beta). Its
2F1(r+s+x, ...) overflows for heavy buyers; Euler's transformation 2F1(a, b; c; z) = (1-z)^(c-a-b)
2F1(c-a, c-b; c; z) turns both forms into

    log F(tau) = -(r+x) ln(alpha+tau) - s ln(beta+tau) + ln 2F1(1, r+x; r+s+x+1; z),
                                                         z = (alpha-beta)/(alpha+tau)  (alpha >= beta)
    log F(tau) = -(r+x) ln(alpha+tau) - s ln(beta+tau) + ln(1-z) + ln 2F1(1, s+1; r+s+x+1; z),
                                                         z = (beta-alpha)/(beta+tau)   (alpha < beta)

whose 2F1 has a first argument of 1 and stays finite for every x. From the same terms (the note's eqs. 21
and 22):

    P(alive) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)
    E[purchases in (T, T+t]] = (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] P(alive)

and P(no purchase in (T, T+t]) = L(x, t_x, T+t) / L(x, t_x, T): a customer seen through T+t with no new
purchase has exactly the likelihood of (x, t_x, T+t). Parameters by maximum likelihood over the log
parameters with L-BFGS-B (finite-difference gradient: 2F1 has no closed-form derivative in its parameters)
from a fixed start, so the same data give the same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from customer360.clv.mle import NOT_FINITE, ModelFit, ModelParams, as_float_arrays, maximize_log_likelihood

MODEL_NAME = "pareto_nbd"
PARAM_NAMES = ("r", "alpha", "s", "beta")
# Tolerances of L-BFGS-B on the mean log-likelihood per customer (clv.mle), tighter than its defaults: the
# gradient is a finite difference.
F_TOLERANCE = 1e-13
G_TOLERANCE = 1e-8
# Keeps the (s - 1) denominator of the conditional expectation away from 0/0 (the limit form is used there).
_S_NEAR_ONE = 1e-6


@dataclass(frozen=True)
class ParetoNbdParams(ModelParams):
    r: float
    alpha: float
    s: float
    beta: float


def _log_f(params: ParetoNbdParams, x: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """log F(tau) of the module docstring (Euler-transformed, finite for every x)."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    head = -(r + x) * np.log(alpha + tau) - s * np.log(beta + tau)
    c = r + s + x + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        if alpha >= beta:
            return head + np.log(hyp2f1(1.0, r + x, c, (alpha - beta) / (alpha + tau)))
        z = (beta - alpha) / (beta + tau)
        return head + np.log1p(-z) + np.log(hyp2f1(1.0, s + 1.0, c, z))


def _log_a0(params: ParetoNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """log A0 = log(F(t_x) - F(T)); -inf when t_x = T (a purchase at the end of the observation)."""
    at_last, at_end = _log_f(params, x, t_x), _log_f(params, x, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        return at_last + np.log1p(-np.exp(np.minimum(at_end - at_last, 0.0)))


def _log_alive_term(params: ParetoNbdParams, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    return -(params.r + x) * np.log(params.alpha + T) - params.s * np.log(params.beta + T)


def _log_dead_term(params: ParetoNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    return np.log(params.s) - np.log(params.r + params.s + x) + _log_a0(params, x, t_x, T)


def log_likelihood(params: ParetoNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-customer log-likelihood of (x, t_x, T) under ``params``."""
    x, t_x, T = as_float_arrays(x, t_x, T)
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return head + np.logaddexp(_log_alive_term(params, x, T), _log_dead_term(params, x, t_x, T))


def p_alive(params: ParetoNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(still alive at T | x, t_x, T) (module docstring); below 1 for one-time buyers too."""
    x, t_x, T = as_float_arrays(x, t_x, T)
    return expit(_log_alive_term(params, x, T) - _log_dead_term(params, x, t_x, T))


def probability_no_purchase(
    params: ParetoNbdParams, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(no purchase in (T, T+t] | x, t_x, T) = L(x, t_x, T+t) / L(x, t_x, T): the churn label's event."""
    x, t_x, T = as_float_arrays(x, t_x, T)
    return np.exp(log_likelihood(params, x, t_x, T + t) - log_likelihood(params, x, t_x, T))


def conditional_expected_purchases(
    params: ParetoNbdParams, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[purchases in (T, T+t] | x, t_x, T] (module docstring; the limit (r+x)(beta+T)/(alpha+T)
    ln((beta+T+t)/(beta+T)) at s = 1)."""
    x, t_x, T = as_float_arrays(x, t_x, T)
    if t <= 0:
        return np.zeros_like(x)
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    log_ratio = np.log(beta + T + t) - np.log(beta + T)
    if abs(s - 1.0) > _S_NEAR_ONE:
        lifetime = -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)
    else:
        lifetime = log_ratio
    return (r + x) * (beta + T) / (alpha + T) * lifetime * p_alive(params, x, t_x, T)


def compress(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Collapse customers with identical (x, t_x, T) into one row with a weight (whole days repeat a lot)."""
    stacked = np.stack(as_float_arrays(x, t_x, T), axis=1)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return unique[:, 0], unique[:, 1], unique[:, 2], counts.astype(np.float64)


def fit(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> ModelFit:
    """Maximum likelihood Pareto/NBD parameters for customers (x, t_x, T) (days), with fit diagnostics.

    Start: r = s = 1, alpha at the pooled repeat rate (r/alpha = repeat purchases per day of age) and beta at
    the mean age (a mean lifetime of the order of the data's span)."""
    x, t_x, T = as_float_arrays(x, t_x, T)
    start = _start(float(x.sum()), float(T.sum()), float(T.mean()))
    return _maximize(*compress(x, t_x, T), start)


def fit_compressed(ux: np.ndarray, ut_x: np.ndarray, uT: np.ndarray, weights: np.ndarray) -> ModelFit:
    """``fit`` on customers already collapsed to distinct (x, t_x, T) rows with their counts, in
    ``compress``'s order (sorted rows), so that a summary kept elsewhere (``customer360.spark.clv``) sends
    only those rows. The same customers in whole days give ``fit``'s parameters exactly (the start's sums
    of whole numbers are exact in any order)."""
    ux, ut_x, uT, weights = as_float_arrays(ux, ut_x, uT, weights)
    total_weight, total_T = float(weights.sum()), float((weights * uT).sum())
    start = _start(float((weights * ux).sum()), total_T, total_T / total_weight if total_weight else 0.0)
    return _maximize(ux, ut_x, uT, weights, start)


def _start(total_x: float, total_T: float, mean_T: float) -> list[float]:
    rate = max(total_x, 1.0) / max(total_T, 1.0)
    return [1.0, 1.0 / rate, 1.0, max(mean_T, 1.0)]


def _maximize(
    ux: np.ndarray, ut_x: np.ndarray, uT: np.ndarray, weights: np.ndarray, start: list[float]
) -> ModelFit:
    total_weight = float(weights.sum())

    def objective(log_params: np.ndarray) -> float:
        params = ParetoNbdParams(*np.exp(log_params))
        value = -float((weights * log_likelihood(params, ux, ut_x, uT)).sum()) / total_weight
        return value if np.isfinite(value) else NOT_FINITE

    return maximize_log_likelihood(
        MODEL_NAME,
        PARAM_NAMES,
        objective,
        start,
        int(round(total_weight)),
        gradient=False,
        ftol=F_TOLERANCE,
        gtol=G_TOLERANCE,
    )
