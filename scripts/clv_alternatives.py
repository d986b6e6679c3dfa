"""Holdout error of BG/NBD (the pipeline's model) against MBG/NBD and Pareto/NBD on a transactions CSV.

A measurement, not part of the pipeline: which purchase model predicts the holdout's repeat purchase days
best. Same purchase days and summary as ``customer360 clv fit`` (same-day purchases collapsed, days as the
time unit); MBG/NBD (Batislam et al. 2007) and Pareto/NBD (Fader & Hardie 2005, "A note on deriving the
Pareto/NBD model") by maximum likelihood in closed form (scipy), their conditional expectations over the
holdout summed and set against the actual purchase days.

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
from scipy.special import betaln, gammaln, hyp2f1

from customer360.clv import bgnbd
from customer360.clv.bgnbd import BgNbdParams
from customer360.clv.fit import fit_models
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


def _pnbd_terms(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(log of (alpha+T)^(r+x) (beta+T)^s, log A0) of the Pareto/NBD likelihood."""
    m = r + s + x
    if alpha >= beta:
        z1, z2, second, d1, d2 = (
            (alpha - beta) / (alpha + t_x),
            (alpha - beta) / (alpha + T),
            s + 1,
            alpha + t_x,
            alpha + T,
        )
    else:
        z1, z2, second, d1, d2 = (
            (beta - alpha) / (beta + t_x),
            (beta - alpha) / (beta + T),
            r + x,
            beta + t_x,
            beta + T,
        )
    with np.errstate(all="ignore"):
        l1 = np.log(hyp2f1(m, second, m + 1, z1)) - m * np.log(d1)
        l2 = np.log(hyp2f1(m, second, m + 1, z2)) - m * np.log(d2)
        log_a0 = l1 + np.log1p(-np.exp(np.minimum(l2 - l1, 0.0)))
    return (r + x) * np.log(alpha + T) + s * np.log(beta + T), log_a0


def _pnbd_nll(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> float:
    r, alpha, s, beta = np.exp(log_params)
    pre, log_a0 = _pnbd_terms(r, alpha, s, beta, x, t_x, T)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    with np.errstate(all="ignore"):
        ll = head - pre + np.logaddexp(0.0, np.log(s / (r + s + x)) + pre + log_a0)
    value = -np.sum(w * ll) / w.sum()
    return float(value) if np.isfinite(value) else 1e10


def pnbd_expected(params: np.ndarray, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, s, beta = params
    pre, log_a0 = _pnbd_terms(r, alpha, s, beta, x, t_x, T)
    alive = 1.0 / (1.0 + s / (r + s + x) * np.exp(pre + log_a0))
    return (
        (r + x)
        * (beta + T)
        / ((alpha + T) * (s - 1.0))
        * (1.0 - ((beta + T) / (beta + T + t)) ** (s - 1.0))
        * alive
    )


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
    bg = BgNbdParams.from_dict(fit_models(summary).bgnbd.params)
    mbg = minimize(
        _mbg_nll, np.log([bg.r, bg.alpha, bg.a, bg.b]), (ux, ut_x, uT, w), "Nelder-Mead", options=NELDER_MEAD
    )
    pnbd = minimize(
        _pnbd_nll, np.log([0.5, 70.0, 0.5, 70.0]), (ux, ut_x, uT, w), "Nelder-Mead", options=NELDER_MEAD
    )
    print(
        f"{path.name}: calibration to {observation_end}, holdout {int(t)} days, "
        f"{summary.n_customers:,} customers, "
        f"actual repeat purchase days {actual.sum():,.0f}"
    )
    for name, params, predicted in (
        ("BG/NBD", [bg.r, bg.alpha, bg.a, bg.b], bgnbd.conditional_expected_purchases(bg, t, x, t_x, T)),
        ("MBG/NBD", np.exp(mbg.x), mbg_expected(np.exp(mbg.x), t, x, t_x, T)),
        ("Pareto/NBD", np.exp(pnbd.x), pnbd_expected(np.exp(pnbd.x), t, x, t_x, T)),
    ):
        error = (predicted.sum() - actual.sum()) / actual.sum()
        shown = " ".join(f"{v:.4g}" for v in params)
        print(f"{name:<11} params {shown:<36} predicted {predicted.sum():>10,.1f}  error {error:+.1%}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), date.fromisoformat(sys.argv[2]), date.fromisoformat(sys.argv[3]))
