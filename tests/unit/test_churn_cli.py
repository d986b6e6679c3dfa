"""``customer360 churn backtest`` on a simulated transactions CSV: the stage's backtest on outside data."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from customer360.churn import commands
from customer360.clv import simulate
from customer360.clv.bgnbd import BgNbdParams
from customer360.clv.gamma_gamma import GammaGammaParams


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="customer360")
    commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def transactions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 BG/NBD customers' purchase days over 2024-01-01 .. 2025-06-30 as a transactions CSV."""
    rng = np.random.default_rng(8)
    customers = simulate.draw_customers(
        3_000, BgNbdParams(0.6, 50.0, 0.8, 3.0), GammaGammaParams(6, 4, 15), rng
    )
    events = simulate.simulate_purchase_days(
        customers, 6.0, np.floor(rng.uniform(0, 400, 3_000)), date(2025, 6, 30), date(2024, 1, 1), rng
    )
    frame = pd.DataFrame(
        {
            "customer": np.char.add("c", events["customer_index"].astype(str)),
            "day": pd.to_datetime(events["purchase_date"]).strftime("%Y-%m-%d"),
            "revenue": np.round(events["net_amount"], 2),
        }
    )
    path = tmp_path_factory.mktemp("churn_cli") / "transactions.csv"
    frame.to_csv(path, index=False)
    return path


def test_given_transactions_when_backtested_then_the_model_and_three_baselines_are_reported(
    transactions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN the backtest runs on the window ending 2025-06-30
    code = run_cli(
        [
            "churn",
            "backtest",
            str(transactions),
            "--training-end",
            "2025-06-30",
            "--customer-col",
            "customer",
            "--date-col",
            "day",
            "--amount-col",
            "revenue",
        ]
    )
    out = capsys.readouterr().out
    # THEN it prints the window, the model and each baseline with AUC, precision and calibration
    assert code == 0
    assert "features as of 2025-04-01, labels from (2025-04-01, 2025-06-30]" in out
    for scorer in ("model", "recency", "pareto_nbd_no_purchase", "rfm_score"):
        line = next(ln for ln in out.splitlines() if ln.startswith(scorer + " "))
        auc = float(line.split()[1])
        assert 0.5 < auc < 1.0, line
    # AND which scorer the stage would publish: the model only if it beat all three
    published = next(ln for ln in out.splitlines() if ln.startswith("published: "))
    assert published.split()[1] in ("logistic_regression", "recency", "pareto_nbd_no_purchase", "rfm_score")


def test_given_a_missing_column_when_backtested_then_the_error_names_it(
    transactions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["churn", "backtest", str(transactions), "--training-end", "2025-06-30"])
    assert code == 2
    assert "no column 'customer_id'" in capsys.readouterr().err
