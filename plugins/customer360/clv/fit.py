"""Fit both CLV models on a customer summary, deciding per model whether the data support it.

A model is fitted only when enough customers carry information about it: Pareto/NBD (the purchase model,
``customer360.clv.pareto_nbd``) needs customers with
repeat purchases (without them dropout and purchase rate are not identified), Gamma-Gamma needs customers
with repeat purchases and a positive mean spend. Below ``min_repeat_customers`` (default
``MIN_REPEAT_CUSTOMERS``), or when the optimiser does not converge, the model's status is 'fallback' and
``customer360.clv.predict`` uses its documented simple estimate instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from customer360.clv import gamma_gamma, pareto_nbd
from customer360.clv.mle import ModelFit, not_fitted
from customer360.clv.summary import CustomerSummary

# Fewest customers with a repeat purchase for a model fit (a candidate for Settings.clv_min_repeat_customers).
MIN_REPEAT_CUSTOMERS = 50


@dataclass(frozen=True)
class ClvModels:
    purchases: ModelFit  # the purchase model: Pareto/NBD
    gamma_gamma: ModelFit

    @property
    def status(self) -> str:
        """'fitted' when both models are fitted, else 'fallback'."""
        return "fitted" if self.purchases.fitted and self.gamma_gamma.fitted else "fallback"

    @property
    def fits(self) -> tuple[ModelFit, ModelFit]:
        return (self.purchases, self.gamma_gamma)

    @property
    def message(self) -> str:
        return "; ".join(f"{fit.model}: {fit.message}" for fit in self.fits)


def _sparse_message(model: str, usable: int, n_customers: int, minimum: int, what: str, fallback: str) -> str:
    return (
        f"{model} not fitted: only {usable} of {n_customers} customers have {what} "
        f"(at least {minimum} needed); "
        f"predictions use {fallback}"
    )


def fit_models(summary: CustomerSummary, min_repeat_customers: int = MIN_REPEAT_CUSTOMERS) -> ClvModels:
    """Fit Pareto/NBD and Gamma-Gamma on ``summary``, or mark each as 'fallback' with the reason."""
    return decide_models(
        summary.n_customers,
        summary.n_repeat_customers,
        int(gamma_gamma.usable(summary.frequency, summary.repeat_avg_spend).sum()),
        lambda: pareto_nbd.fit(summary.frequency, summary.recency_days, summary.tenure_days),
        lambda: gamma_gamma.fit(summary.frequency, summary.repeat_avg_spend),
        min_repeat_customers,
    )


def decide_models(
    n: int,
    repeaters: int,
    spenders: int,
    fit_purchases: Callable[[], ModelFit],
    fit_spend: Callable[[], ModelFit],
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS,
) -> ClvModels:
    """``fit_models``' decisions from the summary's counts (customers, repeat customers, Gamma-Gamma's
    spenders), each fit made by its callable only when the data support it: the same for a summary in
    memory and one an engine holds (``customer360.spark.clv.fit_models``)."""
    if repeaters < min_repeat_customers:
        purchase_fit = not_fitted(
            pareto_nbd.MODEL_NAME,
            n,
            _sparse_message(
                pareto_nbd.MODEL_NAME,
                repeaters,
                n,
                min_repeat_customers,
                "a repeat purchase",
                "the historical rate",
            ),
        )
    else:
        purchase_fit = fit_purchases()
        if not purchase_fit.fitted:
            purchase_fit = _with_fallback_note(purchase_fit, "the historical rate")

    if spenders < min_repeat_customers:
        spend_fit = not_fitted(
            gamma_gamma.MODEL_NAME,
            spenders,
            _sparse_message(
                gamma_gamma.MODEL_NAME,
                spenders,
                n,
                min_repeat_customers,
                "a repeat purchase with positive spend",
                "each customer's historical spend per purchase day",
            ),
        )
    else:
        spend_fit = fit_spend()
        if not spend_fit.fitted:
            spend_fit = _with_fallback_note(spend_fit, "each customer's historical spend per purchase day")
    return ClvModels(purchases=purchase_fit, gamma_gamma=spend_fit)


def _with_fallback_note(fit: ModelFit, fallback: str) -> ModelFit:
    return replace(fit, message=f"{fit.message}; predictions use {fallback}")
