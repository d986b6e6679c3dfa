"""Maximum likelihood on log-parameters with L-BFGS-B, shared by the Pareto/NBD, BG/NBD and Gamma-Gamma fits.

All model parameters are positive, so the optimiser works on their logarithms (unconstrained apart from wide
box bounds that keep ``exp`` finite). The objective is the *mean* negative log-likelihood per customer, so the
tolerances mean the same for 500 and for 5 million customers. A fit counts as converged only when L-BFGS-B
reports success, the log-likelihood is finite and no parameter sits on a bound (a parameter on a bound means
the data do not identify the model, e.g. nobody churns).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Self

import numpy as np

# Box bounds on log-parameters: exp(+-12) spans 6e-6 .. 1.6e5, wide for rates per day, shapes and spends.
LOG_PARAM_BOUND = 12.0
MAX_ITERATIONS = 500
# Mean log-likelihood per customer is O(1..10); these tolerances stop well past useful precision.
FTOL = 1e-12
GTOL = 1e-7

# The mean negative log-likelihood of log-parameters: with its gradient, or (``gradient=False``) alone, when
# L-BFGS-B takes finite differences.
Objective = Callable[[np.ndarray], tuple[float, np.ndarray]] | Callable[[np.ndarray], float]
# An objective may return this (or more) where the likelihood is not finite, to steer the optimiser away.
NOT_FINITE = 1e10


def as_float_arrays(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each argument as a float64 array, what the models' formulas compute in."""
    return tuple(np.asarray(a, dtype=np.float64) for a in arrays)


class ModelParams:
    """A model's parameters as a frozen dataclass of floats, read from and written as ``{name: value}`` (the
    artefact's and ``ModelFit.params``' form); the field order is the model's ``PARAM_NAMES``."""

    @classmethod
    def from_dict(cls, params: dict[str, float]) -> Self:
        return cls(**{f.name: float(params[f.name]) for f in fields(cls)})  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class ModelFit:
    """The outcome of one model fit; ``status`` is 'fitted' or 'fallback' (then ``message`` says why)."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    n_customers: int
    fit_seconds: float
    converged: bool
    iterations: int
    status: str
    message: str
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def fitted(self) -> bool:
        return self.status == "fitted"


def not_fitted(model: str, n_customers: int, message: str) -> ModelFit:
    """A fit that was not attempted (too little data): the predictor falls back, ``message`` says why."""
    return ModelFit(
        model=model,
        params={},
        log_likelihood=float("nan"),
        n_customers=n_customers,
        fit_seconds=0.0,
        converged=False,
        iterations=0,
        status="fallback",
        message=message,
    )


def maximize_log_likelihood(
    model: str,
    names: Sequence[str],
    objective: Objective,
    start: Sequence[float],
    n_customers: int,
    gradient: bool = True,
    ftol: float = FTOL,
    gtol: float = GTOL,
) -> ModelFit:
    """Minimise ``objective`` (mean negative LL in log-parameters, with its gradient unless ``gradient`` is
    off) from natural-scale ``start``."""
    from scipy.optimize import minimize

    started = time.perf_counter()
    x0 = np.log(np.asarray(start, dtype=np.float64))
    bounds = [(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * len(names)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = minimize(
            objective,
            x0,
            jac=gradient,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": MAX_ITERATIONS, "ftol": ftol, "gtol": gtol},
        )
    seconds = time.perf_counter() - started
    params = {name: float(np.exp(value)) for name, value in zip(names, result.x, strict=True)}
    log_likelihood = -float(result.fun) * n_customers
    on_bound = [
        name for name, value in zip(names, result.x, strict=True) if abs(value) >= LOG_PARAM_BOUND - 1e-6
    ]
    problems = []
    if not result.success:
        problems.append(f"the optimiser did not converge ({result.message})")
    if not np.isfinite(log_likelihood) or result.fun >= NOT_FINITE:
        problems.append("the log-likelihood is not finite")
    if on_bound:
        problems.append(
            f"parameter(s) {', '.join(on_bound)} ran to the bound exp(+-{LOG_PARAM_BOUND:g}): "
            "the data do not identify the model"
        )
    converged = not problems
    return ModelFit(
        model=model,
        params=params,
        log_likelihood=log_likelihood,
        n_customers=n_customers,
        fit_seconds=seconds,
        converged=converged,
        iterations=int(result.nit),
        status="fitted" if converged else "fallback",
        message=(
            f"converged in {int(result.nit)} iterations"
            if converged
            else f"{model} fit rejected: {'; '.join(problems)}"
        ),
    )
