"""Simulate customers from the BG/NBD and Gamma-Gamma models: for tests, benchmarks and sanity checks.

Two levels:

- ``simulate_summary`` draws (x, t_x) for given ages T directly from the continuous-time model, exactly and
  without an event loop: with n ~ Poisson(lambda T) arrivals in [0, T] and J ~ Geometric(p) repeat purchases
  before dropout, x = min(n, J), and the x-th of n uniform arrival times is T * Beta(x, n - x + 1).
- ``simulate_purchase_days`` draws dated purchases (one row per purchase event, first purchase included) for
  customers with given rates, dropout probabilities and spend scales; same-day purchases are left to the
  summary to collapse, like real data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from customer360.clv.bgnbd import BgNbdParams
from customer360.clv.gamma_gamma import GammaGammaParams


@dataclass(frozen=True)
class SimulatedCustomers:
    """Latent per-customer traits drawn from the model priors."""

    purchase_rate: np.ndarray  # lambda, purchases per day while alive
    dropout_probability: np.ndarray  # p, chance to drop out after each repeat purchase
    spend_rate: np.ndarray  # nu, a purchase's spend is Gamma(shape=p_spend, rate=nu)


def draw_customers(
    n: int, bgnbd: BgNbdParams, spend: GammaGammaParams, rng: np.random.Generator
) -> SimulatedCustomers:
    return SimulatedCustomers(
        purchase_rate=rng.gamma(bgnbd.r, 1.0 / bgnbd.alpha, size=n),
        dropout_probability=rng.beta(bgnbd.a, bgnbd.b, size=n),
        spend_rate=rng.gamma(spend.q, 1.0 / spend.v, size=n),
    )


def simulate_summary(
    params: BgNbdParams, T: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw (x, t_x) for customers observed for ``T`` days under BG/NBD ``params``."""
    T = np.asarray(T, dtype=np.float64)
    n = T.shape[0]
    rate = rng.gamma(params.r, 1.0 / params.alpha, size=n)
    dropout = rng.beta(params.a, params.b, size=n)
    arrivals = rng.poisson(rate * T)
    repeats_before_dropout = rng.geometric(np.clip(dropout, 1e-12, 1.0))
    x = np.minimum(arrivals, repeats_before_dropout)
    has_repeat = x > 0
    t_x = np.zeros(n)
    t_x[has_repeat] = T[has_repeat] * rng.beta(x[has_repeat], arrivals[has_repeat] - x[has_repeat] + 1)
    return x.astype(np.float64), t_x


def simulate_mean_spend(params: GammaGammaParams, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw the mean spend of ``x`` purchases per customer under Gamma-Gamma (NaN where x = 0)."""
    x = np.asarray(x, dtype=np.float64)
    nu = rng.gamma(params.q, 1.0 / params.v, size=x.shape[0])
    total = rng.gamma(np.where(x > 0, params.p * x, 1.0), 1.0 / nu)
    return np.where(x > 0, total / np.where(x > 0, x, 1.0), np.nan)


def simulate_purchase_days(
    customers: SimulatedCustomers,
    spend_shape: float,
    first_purchase: np.ndarray,
    end: date,
    start: date,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Dated purchases up to ``end`` for customers whose first purchase is ``start + first_purchase`` days.

    Returns aligned arrays ``customer_index``, ``purchase_date`` (datetime64[D]) and ``net_amount``; one
    entry per purchase event, the first purchase included. Vectorised: arrivals are drawn as uniform order
    statistics per customer and cut at each customer's dropout purchase.
    """
    first = np.asarray(first_purchase, dtype=np.float64)
    n = first.shape[0]
    horizon = np.maximum((end - start).days + 1 - first, 0.0)  # days from first purchase to end of ``end``
    arrivals = rng.poisson(customers.purchase_rate * horizon)
    kept = np.minimum(arrivals, rng.geometric(np.clip(customers.dropout_probability, 1e-12, 1.0)))
    owner = np.repeat(np.arange(n), arrivals)
    times = rng.uniform(0.0, 1.0, size=owner.shape[0]) * horizon[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    offsets = np.concatenate(([0], np.cumsum(arrivals)[:-1]))
    rank = np.arange(owner.shape[0]) - offsets[owner]
    keep = rank < kept[owner]
    owner = np.concatenate((np.arange(n), owner[keep]))
    day = np.floor(np.concatenate((first, first[owner[n:]] + times[keep]))).astype(np.int64)
    amount = rng.gamma(spend_shape, 1.0 / customers.spend_rate[owner])
    dates = np.datetime64(start, "D") + day.astype("timedelta64[D]")
    in_range = dates <= np.datetime64(end, "D")
    return {
        "customer_index": owner[in_range],
        "purchase_date": dates[in_range],
        "net_amount": np.round(amount[in_range], 2),
    }
