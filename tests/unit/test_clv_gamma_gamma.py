"""Gamma-Gamma: log-likelihood, gradient, conditional expected spend, recovery and the q <= 1 fallback."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import check_grad

from customer360.clv import gamma_gamma, simulate
from customer360.clv.gamma_gamma import GammaGammaParams

# Fader & Hardie (2005) CDNOW estimates.
CDNOW_SPEND = GammaGammaParams(p=6.25, q=3.74, v=15.44)


def hand_log_likelihood(params: GammaGammaParams, x: int, m_x: float) -> float:
    """f(m_x) = G(px+q)/(G(px)G(q)) v^q x^(px) m_x^(px-1) / (v + x m_x)^(px+q), logged with math.lgamma."""
    p, q, v = params.p, params.q, params.v
    return (
        math.lgamma(p * x + q)
        - math.lgamma(p * x)
        - math.lgamma(q)
        + q * math.log(v)
        + p * x * math.log(x)
        + (p * x - 1) * math.log(m_x)
        - (p * x + q) * math.log(v + x * m_x)
    )


@pytest.mark.parametrize(("x", "m_x"), [(1, 35.0), (2, 12.5), (5, 40.1), (30, 0.75)])
def test_given_tiny_inputs_when_log_likelihood_then_matches_hand_computed_formula(x: int, m_x: float) -> None:
    value = gamma_gamma.log_likelihood(CDNOW_SPEND, np.array([x]), np.array([m_x]))[0]
    assert value == pytest.approx(hand_log_likelihood(CDNOW_SPEND, x, m_x), rel=1e-12)


def test_given_data_when_gradient_checked_then_analytic_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    x = 1 + rng.poisson(2.0, 1_000).astype(float)
    m_x = simulate.simulate_mean_spend(CDNOW_SPEND, x, rng)
    objective = gamma_gamma._objective(x, m_x)
    point = np.log([3.0, 5.0, 20.0])
    assert check_grad(lambda v: objective(v)[0], lambda v: objective(v)[1], point, epsilon=1e-6) < 1e-5


def test_given_customers_when_conditional_spend_then_weighted_between_population_and_own_mean() -> None:
    # GIVEN a new customer (x = 0) and two repeat buyers with the same mean spend but different x
    x = np.array([0.0, 1.0, 20.0])
    m_x = np.array([np.nan, 100.0, 100.0])
    spend = gamma_gamma.conditional_expected_spend(CDNOW_SPEND, x, m_x)
    population = CDNOW_SPEND.p * CDNOW_SPEND.v / (CDNOW_SPEND.q - 1)
    # THEN the new customer gets the population mean, and more purchases pull the estimate towards m_x
    assert spend[0] == pytest.approx(population)
    weight = CDNOW_SPEND.p * 1 / (CDNOW_SPEND.p * 1 + CDNOW_SPEND.q - 1)
    assert spend[1] == pytest.approx((1 - weight) * population + weight * 100.0)
    assert population < spend[1] < spend[2] < 100.0


def test_given_simulated_spend_when_fitted_then_recovers_known_parameters() -> None:
    # GIVEN 20,000 repeat buyers with 1-10 purchases whose spend follows Gamma-Gamma(6.25, 3.74, 15.44)
    rng = np.random.default_rng(11)
    x = 1 + rng.poisson(2.0, 20_000).astype(float)
    m_x = simulate.simulate_mean_spend(CDNOW_SPEND, x, rng)
    # WHEN fitted
    fit = gamma_gamma.fit(x, m_x)
    # THEN every parameter is within 12% of the truth. Over 10 seeds at this size the worst relative errors
    # were p 7.2%, q 1.3%, v 5.3% (p and v trade off against each other); 12% leaves room for sampling noise
    # but not for a wrong likelihood.
    assert fit.converged and fit.status == "fitted"
    for name, truth in CDNOW_SPEND.as_dict().items():
        assert fit.params[name] == pytest.approx(truth, rel=0.12), name


def test_given_customers_without_usable_spend_when_fitted_then_they_are_left_out() -> None:
    rng = np.random.default_rng(5)
    x = 1 + rng.poisson(2.0, 3_000).astype(float)
    m_x = simulate.simulate_mean_spend(CDNOW_SPEND, x, rng)
    with_noise_x = np.concatenate([x, [0.0, 0.0, 2.0]])
    with_noise_m = np.concatenate([m_x, [np.nan, 10.0, -5.0]])
    assert gamma_gamma.fit(with_noise_x, with_noise_m).params == pytest.approx(gamma_gamma.fit(x, m_x).params)


def test_given_heavy_tailed_spend_when_fitted_then_falls_back_because_mean_is_infinite() -> None:
    # GIVEN spend simulated with q = 0.7 (no finite population mean)
    rng = np.random.default_rng(8)
    x = 1 + rng.poisson(2.0, 20_000).astype(float)
    m_x = simulate.simulate_mean_spend(GammaGammaParams(p=4.0, q=0.7, v=10.0), x, rng)
    # WHEN fitted
    fit = gamma_gamma.fit(x, m_x)
    # THEN the estimate has q <= 1 and the model is marked as fallback with the reason
    assert fit.params["q"] <= 1.0
    assert fit.status == "fallback"
    assert "q =" in fit.message and "infinite" in fit.message
