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


def numpy_groups(x: np.ndarray, m_x: np.ndarray) -> tuple[gamma_gamma.SpendGroups, gamma_gamma.SumsAtV]:
    """The grouping an engine does (``spark.clv.fit_spend``), in numpy: per distinct x, its count and sum of
    ln m_x, and the four sums over T = v + x m_x at a given v."""
    keep = gamma_gamma.usable(x, m_x)
    x, m_x = x[keep], m_x[keep]
    distinct, index, count = np.unique(x, return_inverse=True, return_counts=True)
    groups = gamma_gamma.SpendGroups(
        x=distinct,
        count=count.astype(float),
        sum_log_m=np.bincount(index, weights=np.log(m_x)),
        mean_m=float(np.mean(m_x)),
    )

    def sums_at_v(v: float) -> tuple[float, float, float, float]:
        total = v + x * m_x
        return (
            float(np.log(total).sum()),
            float((x * np.log(total)).sum()),
            float((1.0 / total).sum()),
            float((x / total).sum()),
        )

    return groups, sums_at_v


def test_given_customers_grouped_by_x_then_the_objective_and_the_fit_are_the_per_customer_ones() -> None:
    # GIVEN simulated repeat customers' x and mean spend (and a few the model leaves out)
    rng = np.random.default_rng(11)
    x = rng.poisson(3.0, 5_000).astype(float)
    m_x = simulate.simulate_mean_spend(CDNOW_SPEND, x, rng)
    groups, sums_at_v = numpy_groups(x, m_x)
    keep = gamma_gamma.usable(x, m_x)
    assert groups.n_customers == int(keep.sum()) and len(groups.x) < 30
    # WHEN the grouped objective is evaluated THEN value and gradient are the per-customer ones, up to the
    # order of the additions
    per_customer = gamma_gamma._objective(x[keep], m_x[keep])
    grouped = gamma_gamma.grouped_objective(groups, sums_at_v)
    for point in ([0.0, 0.7, 2.7], [1.8, 1.3, 2.7], [-1.0, 3.0, 5.0]):
        value, grad = per_customer(np.array(point))
        value_g, grad_g = grouped(np.array(point))
        assert value_g == pytest.approx(value, rel=1e-12)
        assert grad_g == pytest.approx(grad, rel=1e-9, abs=1e-12)
    # AND the grouped fit lands on the per-customer fit's parameters and log-likelihood
    fit, fit_g = gamma_gamma.fit(x, m_x), gamma_gamma.fit_grouped(groups, sums_at_v)
    assert fit.fitted and fit_g.fitted and fit_g.n_customers == fit.n_customers
    for name in gamma_gamma.PARAM_NAMES:
        assert fit_g.params[name] == pytest.approx(fit.params[name], rel=1e-9)
    assert fit_g.log_likelihood == pytest.approx(fit.log_likelihood, rel=1e-12)
