"""BG/NBD: log-likelihood, gradient, P(alive), conditional expectation and parameter recovery."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.optimize import check_grad

from customer360.clv import bgnbd, simulate
from customer360.clv.bgnbd import BgNbdParams

# CDNOW estimates of Fader, Hardie & Lee (2005), alpha converted from weeks to days.
CDNOW = BgNbdParams(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426)


def hand_log_likelihood(p: BgNbdParams, x: int, t_x: float, T: float) -> float:
    """The paper's equation (6) written out with math.lgamma, independently of the module."""

    def log_beta(u: float, v: float) -> float:
        return math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v)

    common = math.lgamma(p.r + x) - math.lgamma(p.r) + p.r * math.log(p.alpha)
    alive = math.exp(log_beta(p.a, p.b + x) - log_beta(p.a, p.b) + common - (p.r + x) * math.log(p.alpha + T))
    dropped = 0.0
    if x > 0:
        dropped = math.exp(
            log_beta(p.a + 1, p.b + x - 1) - log_beta(p.a, p.b) + common - (p.r + x) * math.log(p.alpha + t_x)
        )
    return math.log(alive + dropped)


@pytest.mark.parametrize(
    ("x", "t_x", "T"),
    [(0, 0.0, 38.0), (0, 0.0, 0.0), (1, 10.0, 38.0), (2, 30.43, 38.86), (7, 35.0, 39.0), (40, 200.0, 250.0)],
)
def test_given_tiny_inputs_when_log_likelihood_then_matches_hand_computed_formula(
    x: int, t_x: float, T: float
) -> None:
    # GIVEN one customer (x, t_x, T) and the CDNOW parameters
    # WHEN the vectorised log-likelihood is evaluated
    value = bgnbd.log_likelihood(CDNOW, np.array([x]), np.array([t_x]), np.array([T]))[0]
    # THEN it equals the closed form computed with math.lgamma
    assert value == pytest.approx(hand_log_likelihood(CDNOW, x, t_x, T), rel=1e-12, abs=1e-12)


def test_given_data_when_objective_gradient_checked_then_analytic_matches_finite_differences() -> None:
    # GIVEN simulated customers and the objective in log-parameters
    rng = np.random.default_rng(7)
    T = rng.uniform(30, 400, 2_000)
    x, t_x = simulate.simulate_summary(CDNOW, T, rng)
    ux, ut, uT, w = bgnbd.compress(x, t_x, T)
    objective = bgnbd._objective(ux, ut, uT, w)
    # WHEN the analytic gradient is compared with central differences at a point away from the optimum
    point = np.log([0.4, 20.0, 1.3, 3.5])
    error = check_grad(lambda v: objective(v)[0], lambda v: objective(v)[1], point, epsilon=1e-6)
    # THEN they agree (gradient norm is O(0.1) here)
    assert error < 1e-5


def test_given_customers_without_repeat_purchase_when_p_alive_then_exactly_one() -> None:
    # GIVEN customers with x = 0 of any age, and repeat buyers silent for a long time
    T = np.array([0.0, 10.0, 400.0, 3000.0])
    alive = bgnbd.p_alive(CDNOW, np.zeros(4), np.zeros(4), T)
    silent = bgnbd.p_alive(CDNOW, np.array([3.0, 3.0]), np.array([300.0, 20.0]), np.array([310.0, 310.0]))
    # THEN P(alive) is exactly 1 for x = 0 (nobody drops out at the first purchase) ...
    assert np.array_equal(alive, np.ones(4))
    # ... and for repeat buyers it falls with the time since the last purchase
    assert 0 < silent[1] < silent[0] < 1


def test_given_customer_when_p_alive_then_matches_paper_closed_form() -> None:
    x, t_x, T = 2.0, 30.43 * 7, 38.86 * 7
    expected = 1 / (
        1 + CDNOW.a / (CDNOW.b + x - 1) * ((CDNOW.alpha + T) / (CDNOW.alpha + t_x)) ** (CDNOW.r + x)
    )
    assert bgnbd.p_alive(CDNOW, np.array([x]), np.array([t_x]), np.array([T]))[0] == pytest.approx(expected)


def expectation_by_integration(p: BgNbdParams, t: float, x: float, t_x: float, T: float) -> float:
    """P(alive) E_p[(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p], p ~ Beta(a, b+x), by scipy quad."""
    density = stats.beta(p.a, p.b + x).pdf

    def integrand(q: float) -> float:
        return (1 - ((p.alpha + T) / (p.alpha + T + q * t)) ** (p.r + x)) / q * density(q)

    value, _ = integrate.quad(integrand, 0, 1, limit=200)
    alive = bgnbd.p_alive(p, np.array([x]), np.array([t_x]), np.array([T]))[0]
    return alive * value


@pytest.mark.parametrize(
    "params",
    [
        CDNOW,
        BgNbdParams(0.5, 40.0, 3.0, 10.0),
        BgNbdParams(2.0, 10.0, 0.3, 0.5),
        BgNbdParams(0.5, 40.0, 1.0, 2.0),
    ],
)
def test_given_customers_when_conditional_expectation_then_matches_numerical_integration(
    params: BgNbdParams,
) -> None:
    # GIVEN customers from light to heavy buyers (x = 60 overflows the paper's untransformed 2F1 form)
    x = np.array([0.0, 1.0, 4.0, 60.0])
    t_x = np.array([0.0, 100.0, 250.0, 299.0])
    T = np.full(4, 300.0)
    # WHEN the expected purchases in the next 365 days are computed
    got = bgnbd.conditional_expected_purchases(params, 365.0, x, t_x, T)
    # THEN they match direct integration over the dropout probability (and a = 1 exactly is handled)
    expected = [expectation_by_integration(params, 365.0, *row) for row in zip(x, t_x, T, strict=True)]
    assert got == pytest.approx(expected, rel=1e-4)


def test_given_near_homogeneous_dropout_when_expectation_then_quadrature_route_is_finite_and_right() -> None:
    # GIVEN huge a and b (what a small sample can produce): 2F1 overflows for these arguments
    params = BgNbdParams(0.52, 48.0, 1.7e4, 1.1e5)
    x, t_x, T = np.array([0.0, 3.0, 30.0]), np.array([0.0, 150.0, 250.0]), np.full(3, 270.0)
    got = bgnbd.conditional_expected_purchases(params, 182.0, x, t_x, T)
    # THEN the result is finite and equals the quadrature evaluated directly
    assert np.isfinite(got).all()
    alive = bgnbd.p_alive(params, x, t_x, T)
    assert got == pytest.approx(alive * bgnbd.expected_by_quadrature(params, 182.0, x, T), rel=1e-9)


def test_given_simulated_customers_when_fitted_then_recovers_known_parameters() -> None:
    # GIVEN 40,000 customers simulated from CDNOW-like parameters, observed 1 to 3 years
    rng = np.random.default_rng(2024)
    T = rng.uniform(365, 1095, 40_000)
    x, t_x = simulate.simulate_summary(CDNOW, T, rng)
    # WHEN BG/NBD is fitted by maximum likelihood
    fit = bgnbd.fit(x, t_x, T)
    # THEN it converges and every parameter is within 12% of the truth. Justification: over 10 seeds at this
    # size the worst relative errors were r 1.2%, alpha 3.3%, a 4.4%, b 5.6% (a and b, identified only through
    # the dropouts seen, are the noisiest); 12% is about twice the worst case, several standard errors, so the
    # test fails for a wrong likelihood or gradient, not for sampling noise.
    assert fit.converged and fit.status == "fitted"
    for name, truth in CDNOW.as_dict().items():
        assert fit.params[name] == pytest.approx(truth, rel=0.12), name
    # AND the reported log-likelihood is the sum of the per-customer values at the estimate
    estimate = BgNbdParams.from_dict(fit.params)
    assert fit.log_likelihood == pytest.approx(bgnbd.log_likelihood(estimate, x, t_x, T).sum(), rel=1e-9)
    assert fit.n_customers == 40_000
