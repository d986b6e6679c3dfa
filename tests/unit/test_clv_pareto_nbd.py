"""Pareto/NBD: closed forms against a direct integration of the model's definition, and a fit that recovers
the parameters of simulated customers.

The independent check follows the model's story rather than its hypergeometric closed form: a customer with
purchase rate lambda ~ Gamma(r, alpha) and dropout rate mu ~ Gamma(s, beta) who made x repeat purchases, the
last at t_x, is seen through T either alive (density lambda^x e^-lambda T, times P(lifetime > T) = e^-mu T)
or dead at some tau in (t_x, T] without a purchase after t_x (lambda^x e^-lambda tau, times mu e^-mu tau).
Over the gamma priors, E[lambda^x e^-lambda u] = G(r+x)/G(r) alpha^r / (alpha+u)^(r+x) and
E[e^-mu u] = (beta/(beta+u))^s, so up to the same constant

    alive(T) = (alpha+T)^-(r+x) (beta+T)^-s,
    dead(t_x, T) = s integral_{t_x}^{T} (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau

and the integral is computed numerically. P(alive) = alive / (alive + dead); P(no purchase in (T, T+t]) is
the same sum through T+t over the one through T.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from customer360.clv import pareto_nbd
from customer360.clv.pareto_nbd import ParetoNbdParams

# alpha > beta and alpha < beta take the two forms of the hypergeometric term
PARAMS = (
    ParetoNbdParams(r=0.6, alpha=80.0, s=0.5, beta=60.0),
    ParetoNbdParams(r=0.6, alpha=40.0, s=0.8, beta=90.0),
)
CUSTOMERS = ((0.0, 0.0, 200.0), (2.0, 50.0, 200.0), (5.0, 180.0, 200.0), (30.0, 150.0, 200.0))


def _integrated(params: ParetoNbdParams, x: float, t_x: float, T: float, t: float) -> tuple[float, float]:
    """(P(alive), P(no purchase in (T, T+t])) by the module docstring's integral."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta

    def alive(until: float) -> float:
        return (alpha + until) ** -(r + x) * (beta + until) ** -s

    def dead(until: float) -> float:
        death = integrate.quad(
            lambda tau: (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1.0),
            t_x,
            until,
            epsabs=0,
            epsrel=1e-12,
        )[0]
        return s * death

    seen = alive(T) + dead(T)
    return alive(T) / seen, (alive(T + t) + dead(T + t)) / seen


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize(("x", "t_x", "T"), CUSTOMERS)
def test_given_a_customer_when_p_alive_and_no_purchase_are_computed_then_they_match_the_integral(
    params: ParetoNbdParams, x: float, t_x: float, T: float
) -> None:
    alive, silent = _integrated(params, x, t_x, T, 90.0)
    assert pareto_nbd.p_alive(params, [x], [t_x], [T])[0] == pytest.approx(alive, abs=1e-6)
    assert pareto_nbd.probability_no_purchase(params, 90.0, [x], [t_x], [T])[0] == pytest.approx(
        silent, abs=1e-6
    )


@pytest.mark.parametrize("params", PARAMS)
def test_given_heavy_and_light_buyers_when_expected_purchases_are_computed_then_they_are_finite_and_ordered(
    params: ParetoNbdParams,
) -> None:
    x, t_x, T = (np.array(column) for column in zip(*CUSTOMERS, strict=True))
    heavy = np.array([400.0]), np.array([199.0]), np.array([200.0])
    expected = pareto_nbd.conditional_expected_purchases(params, 90.0, x, t_x, T)
    assert np.isfinite(expected).all() and (expected >= 0).all()
    # more purchases, as recent, expect more; 400 purchase days in 200 days stay finite (Euler's transform)
    assert expected[3] > expected[1] and np.isfinite(pareto_nbd.log_likelihood(params, *heavy)).all()
    # AND at s = 1 the limit form joins the general one
    near = ParetoNbdParams(params.r, params.alpha, 1.0 + 1e-4, params.beta)
    at_one = ParetoNbdParams(params.r, params.alpha, 1.0, params.beta)
    np.testing.assert_allclose(
        pareto_nbd.conditional_expected_purchases(at_one, 90.0, x, t_x, T),
        pareto_nbd.conditional_expected_purchases(near, 90.0, x, t_x, T),
        rtol=1e-3,
    )


def test_given_simulated_customers_when_fitted_then_the_parameters_are_recovered() -> None:
    # GIVEN 6,000 customers drawn from Pareto/NBD (r=0.6, alpha=40, s=0.8, beta=90), each observed 365 days
    rng = np.random.default_rng(21)
    truth = PARAMS[1]
    n, T = 6_000, 365.0
    lam = rng.gamma(truth.r, 1.0 / truth.alpha, n)
    lifetime = np.minimum(rng.exponential(1.0 / rng.gamma(truth.s, 1.0 / truth.beta, n)), T)
    x = rng.poisson(lam * lifetime).astype(float)
    t_x = np.where(x > 0, lifetime * rng.beta(np.maximum(x, 1.0), 1.0), 0.0)  # the last of x uniform times
    # WHEN fitted
    fit = pareto_nbd.fit(np.floor(x), np.floor(t_x), np.full(n, T))
    # THEN it converges near the truth (whole days blur t_x a little), deterministically
    assert fit.fitted, fit.message
    assert fit.params["r"] / fit.params["alpha"] == pytest.approx(truth.r / truth.alpha, rel=0.1)
    assert fit.params["s"] / fit.params["beta"] == pytest.approx(truth.s / truth.beta, rel=0.25)
    assert pareto_nbd.fit(np.floor(x), np.floor(t_x), np.full(n, T)).params == fit.params
    # AND the customers collapsed to distinct (x, t_x, T) rows with counts (as Spark sends them) fit the same
    grouped = pareto_nbd.fit_compressed(*pareto_nbd.compress(np.floor(x), np.floor(t_x), np.full(n, T)))
    assert (grouped.params, grouped.log_likelihood, grouped.n_customers) == (
        fit.params,
        fit.log_likelihood,
        fit.n_customers,
    )
