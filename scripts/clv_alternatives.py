"""Holdout error of Pareto/NBD (the pipeline's purchase model) against BG/NBD and MBG/NBD on a CSV.

A measurement, not part of the pipeline: which purchase model predicts the holdout's repeat purchase days
best. Same purchase days and summary as ``customer360 clv fit`` (same-day purchases collapsed, days as the
time unit); Pareto/NBD as the pipeline fits it (``customer360.clv.pareto_nbd``), BG/NBD
(``customer360.clv.bgnbd``, the pipeline's model until issue 21) and MBG/NBD (Batislam et al. 2007) by
maximum likelihood, their conditional expectations over the holdout summed and set against the actual
purchase days.

    uv run --frozen --no-sync python scripts/clv_alternatives.py var/cache/cdnow_master.csv \
        1997-09-30 1998-06-30
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln

from customer360.clv import bgnbd, pareto_nbd
from customer360.clv.bgnbd import BgNbdParams
from customer360.clv.summary import summarize
from customer360.clv.transactions import PURCHASE_DAYS_VIEW, load_transactions

NELDER_MEAD = {"maxiter": 20000, "xatol": 1e-8, "fatol": 1e-10}


def _mbg_nll(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> float:
    r, alpha, a, b = np.exp(log_params)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    gone_now = betaln(a, b + x + 1) - betaln(a, b) - (r + x) * np.log(alpha + T)
    gone_at_last = betaln(a + 1, b + x) - betaln(a, b) - (r + x) * np.log(alpha + t_x)
    return float(-np.sum(w * (head + np.logaddexp(gone_now, gone_at_last))) / w.sum())


def mbg_expected(params: np.ndarray, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """MBG/NBD E[purchases in (T, T+t]]: BG/NBD's bracket with b + 1, times MBG's P(alive) (a customer can
    leave at the first purchase too)."""
    r, alpha, a, b = params
    shifted = BgNbdParams(r=r, alpha=alpha, a=a, b=b + 1.0)
    bracket = bgnbd.conditional_expected_purchases(shifted, t, x, t_x, T) / bgnbd.p_alive(shifted, x, t_x, T)
    alive = 1.0 / (1.0 + a / (b + x) * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x))))
    return bracket * alive


def main(path: Path, observation_end: date, holdout_end: date) -> None:
    con = duckdb.connect()
    load_transactions(con, path, "customer_id", "date", "amount")
    summary = summarize(con, PURCHASE_DAYS_VIEW, observation_end)
    counts = dict(
        con.execute(
            f"select customer_id, count(*) filter (where purchase_date > $o and purchase_date <= $h) "
            f"from {PURCHASE_DAYS_VIEW} group by customer_id",
            {"o": observation_end, "h": holdout_end},
        ).fetchall()
    )
    actual = np.array([counts.get(c, 0) for c in summary.customer_id.to_pylist()], dtype=np.float64)
    x, t_x, T = summary.frequency, summary.recency_days, summary.tenure_days
    t = float((holdout_end - observation_end).days)
    rows, w = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    ux, ut_x, uT = rows.T
    bg = BgNbdParams.from_dict(bgnbd.fit(x, t_x, T).params)
    pnbd = pareto_nbd.ParetoNbdParams.from_dict(pareto_nbd.fit(x, t_x, T).params)
    mbg = minimize(
        _mbg_nll, np.log([bg.r, bg.alpha, bg.a, bg.b]), (ux, ut_x, uT, w), "Nelder-Mead", options=NELDER_MEAD
    )
    print(
        f"{path.name}: calibration to {observation_end}, holdout {int(t)} days, "
        f"{summary.n_customers:,} customers, "
        f"actual repeat purchase days {actual.sum():,.0f}"
    )
    for name, params, predicted in (
        ("BG/NBD", [bg.r, bg.alpha, bg.a, bg.b], bgnbd.conditional_expected_purchases(bg, t, x, t_x, T)),
        ("MBG/NBD", np.exp(mbg.x), mbg_expected(np.exp(mbg.x), t, x, t_x, T)),
        (
            "Pareto/NBD",
            list(pnbd.as_dict().values()),
            pareto_nbd.conditional_expected_purchases(pnbd, t, x, t_x, T),
        ),
    ):
        error = (predicted.sum() - actual.sum()) / actual.sum()
        shown = " ".join(f"{v:.4g}" for v in params)
        print(f"{name:<11} params {shown:<36} predicted {predicted.sum():>10,.1f}  error {error:+.1%}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), date.fromisoformat(sys.argv[2]), date.fromisoformat(sys.argv[3]))
