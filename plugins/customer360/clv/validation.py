"""The CLV validation run at each refit: calibration/holdout check of Pareto/NBD on the pipeline's purchases.

At refit date R with holdout length h (``Settings.clv_holdout_days``): the calibration period ends at
C = R - h, Pareto/NBD (and Gamma-Gamma) are fitted on the purchase days up to C exactly as the stage fits
them up to R, and for the calibration cohort (customers with a first purchase by C) the model's conditional
expectations are compared with the purchase days they actually made in (C, R]:

- ``by_frequency``: per calibration repeat-purchase count 0, 1, ..., 6, 7+, actual vs predicted repeat
  purchases in the holdout (Fader, Hardie & Lee 2005, figure 4; ``customer360.clv.holdout``);
- ``cumulative``: the cohort's cumulative repeat purchases over the holdout, day d = 7, 14, ... and h, actual
  vs the sum of each customer's expected purchases in (C, C + d];
- ``total``: the whole holdout, with ``relative_error`` = (predicted - actual) / actual, which the marts'
  quality suite checks (a warning beyond ``expectations.marts.CLV_HOLDOUT_TOLERANCE``).

The rows go to ``analytics.clv_validation`` (the mart ``clv_holdout_validation`` reads them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from customer360.clv.fit import fit_models
from customer360.clv.holdout import compare_holdout
from customer360.clv.predict import purchase_model
from customer360.clv.summary import summarize

if TYPE_CHECKING:
    import duckdb

CURVE_STEP_DAYS = 7
CURVES = ("by_frequency", "cumulative", "total")


@dataclass(frozen=True)
class ValidationRow:
    curve: str
    x_label: str
    x_value: int
    n_customers: int
    actual: float
    predicted: float

    @property
    def relative_error(self) -> float | None:
        return (self.predicted - self.actual) / self.actual if self.actual else None

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "relative_error": self.relative_error}


def checkpoints(holdout_days: int, step: int = CURVE_STEP_DAYS) -> np.ndarray:
    """Days of the holdout where the cumulative curve is drawn: every ``step`` days and the last day."""
    return np.unique(np.append(np.arange(step, holdout_days + 1, step), holdout_days)).astype(np.int64)


def validate(
    con: duckdb.DuckDBPyConnection, source: str, refit: date, holdout_days: int
) -> tuple[list[ValidationRow], dict[str, Any]]:
    """The validation rows for refit date ``refit`` and a note (status, reason, calibration end, fit)."""
    calibration_end = refit - timedelta(days=holdout_days)
    note: dict[str, Any] = {
        "calibration_end": calibration_end.isoformat(),
        "holdout_end": refit.isoformat(),
        "holdout_days": holdout_days,
    }
    summary = summarize(con, source, calibration_end)
    if summary.n_customers == 0:
        return [], {**note, "status": "skipped", "reason": f"no purchase on or before {calibration_end}"}
    models = fit_models(summary)
    note[models.purchases.model] = {"status": models.purchases.status, "params": models.purchases.params}
    bounds = {"end": calibration_end, "holdout_end": refit}
    cohort = f"""
        select customer_id from {source}
        where customer_id is not null and purchase_date <= $end
        group by customer_id
    """
    per_customer = con.sql(
        f"""
        with cohort as ({cohort}),
        holdout as (
            select customer_id, count(distinct purchase_date) as purchases
            from {source}
            where purchase_date > $end and purchase_date <= $holdout_end
            group by customer_id
        )
        select coalesce(holdout.purchases, 0) as purchases
        from cohort left join holdout using (customer_id)
        order by cohort.customer_id
        """,
        params=bounds,
    ).fetchnumpy()["purchases"]
    comparison = compare_holdout(summary, models, np.asarray(per_customer, dtype=np.float64), holdout_days)
    daily = con.sql(
        f"""
        with cohort as ({cohort})
        select date_diff('day', $end, purchase_date) as day, count(distinct (customer_id, purchase_date)) as n
        from {source}
        where purchase_date > $end and purchase_date <= $holdout_end
            and customer_id in (select customer_id from cohort)
        group by 1
        """,
        params=bounds,
    ).fetchnumpy()
    per_day = np.bincount(
        np.asarray(daily["day"], dtype=np.int64),
        weights=np.asarray(daily["n"], dtype=np.float64),
        minlength=holdout_days + 1,
    )
    cumulative_actual = np.cumsum(per_day)
    _, expected = purchase_model(summary, models)
    n = summary.n_customers
    rows = [
        ValidationRow("by_frequency", b.bucket, k, b.n_customers, b.actual, b.predicted)
        for k, b in enumerate(comparison.buckets)
    ]
    rows += [
        ValidationRow(
            "cumulative", f"day {d}", int(d), n, float(cumulative_actual[d]), float(expected(float(d)).sum())
        )
        for d in checkpoints(holdout_days)  # a dozen checkpoints, each vectorised over customers
    ]
    total = ValidationRow("total", "all", holdout_days, n, comparison.actual, comparison.predicted)
    rows.append(total)
    note.update(
        {
            "status": "validated",
            "reason": "",
            "n_customers": n,
            "actual": comparison.actual,
            "predicted": comparison.predicted,
            "relative_error": total.relative_error,
        }
    )
    return rows, note
