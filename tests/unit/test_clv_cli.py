"""``customer360 clv fit`` on a small CSV fixture: report, JSON, holdout comparison and input errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import pytest

from customer360.clv import commands

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "clv" / "transactions.csv"
COLUMNS = ["--customer-col", "customer", "--date-col", "order_date", "--amount-col", "revenue"]


def run_cli(argv: list[str]) -> int:
    """Parse like the customer360 entry point does (the lead's cli.py calls ``register``), then dispatch."""
    parser = argparse.ArgumentParser(prog="customer360")
    commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def actual_holdout_purchase_days(observation_end: str, holdout_end: str) -> int:
    """Independent count with pandas: purchase days (same-day rows collapsed, positive totals) in the holdout,
    for customers whose first purchase is on or before the observation end."""
    frame = pd.read_csv(FIXTURE, dtype={"order_date": str})
    frame["day"] = pd.to_datetime(frame["order_date"].str.slice(0, 10))
    days = frame.groupby(["customer", "day"], as_index=False)["revenue"].sum()
    days = days[days["revenue"] > 0]
    cohort = days.groupby("customer")["day"].min() <= pd.Timestamp(observation_end)
    in_cohort = days["customer"].map(cohort)
    in_holdout = (days["day"] > pd.Timestamp(observation_end)) & (days["day"] <= pd.Timestamp(holdout_end))
    return int((in_cohort & in_holdout).sum())


def test_given_fixture_with_holdout_when_fit_then_prints_parameters_and_bucket_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # WHEN fitting the fixture up to 30 Sep 2024 with a holdout to 31 Mar 2025
    code = run_cli(
        [
            "clv",
            "fit",
            str(FIXTURE),
            "--observation-end",
            "2024-09-30",
            "--holdout-end",
            "2025-03-31",
            *COLUMNS,
        ]
    )
    out = capsys.readouterr().out
    # THEN both models are fitted and the report shows parameters, log-likelihoods and the holdout buckets
    assert code == commands.EXIT_OK
    assert "pareto_nbd" in out and "gamma_gamma" in out and "alpha=" in out and "q=" in out
    assert "holdout 2024-10-01 .. 2025-03-31 (182 days)" in out
    bucket_rows = [line.split()[0] for line in out.splitlines()[-8:]]
    assert bucket_rows == ["0", "1", "2", "3", "4", "5", "6", "7+"]


def test_given_fixture_when_fit_with_json_then_holdout_totals_match_independent_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run_cli(
        [
            "clv",
            "fit",
            str(FIXTURE),
            "--observation-end",
            "2024-09-30",
            "--holdout-end",
            "2025-03-31",
            *COLUMNS,
            "--json",
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == commands.EXIT_OK
    assert result["time_unit"] == "days" and result["n_customers"] == 400
    purchases, spend = result["models"]["pareto_nbd"], result["models"]["gamma_gamma"]
    assert set(purchases["params"]) == {"r", "alpha", "s", "beta"} and set(spend["params"]) == {"p", "q", "v"}
    assert purchases["converged"] and purchases["log_likelihood"] < 0 and spend["log_likelihood"] < 0
    holdout = result["holdout"]
    # THEN the actual holdout purchases equal an independent pandas count, buckets add up to the totals,
    # and the prediction is in the right range (400 customers: sampling noise is about +-15%)
    assert holdout["actual"] == actual_holdout_purchase_days("2024-09-30", "2025-03-31")
    assert sum(b["actual"] for b in holdout["buckets"]) == holdout["actual"]
    assert sum(b["predicted"] for b in holdout["buckets"]) == pytest.approx(holdout["predicted"])
    assert sum(b["n_customers"] for b in holdout["buckets"]) == result["n_customers"]
    assert abs(holdout["relative_error"]) < 0.25


def test_given_missing_column_when_fit_then_error_names_file_column_and_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run_cli(["clv", "fit", str(FIXTURE), "--observation-end", "2024-09-30"])  # default column names
    err = capsys.readouterr().err
    assert code == commands.EXIT_INPUT_ERROR
    assert str(FIXTURE) in err and "no column 'customer_id'" in err and "--customer-col" in err
    assert "order_ref, customer, order_date, revenue" in err


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_given_unparsable_date_after_multiline_field_when_fit_then_error_names_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a CSV whose second record has a quoted note spanning two lines and whose fourth date is bad
    path = write_csv(
        tmp_path / "tx.csv",
        "customer_id,date,amount,note\n"
        "a,2024-01-01,10.0,ok\n"
        'b,2024-01-02,12.5,"two\nlines"\n'
        "c,2024-01-03,8.0,ok\n"
        "d,31/01/2024,9.0,ok\n"
        "e,not a date,9.0,ok\n",
    )
    code = run_cli(["clv", "fit", str(path), "--observation-end", "2024-03-31"])
    err = capsys.readouterr().err
    # THEN the error points at line 6 (header, a, b on two lines, c), column 'date', and counts the other one
    assert code == commands.EXIT_INPUT_ERROR
    assert f"{path}, line 6, column 'date': '31/01/2024' is not a date" in err
    assert "1 more row(s) have problems" in err


def test_given_unparsable_amount_when_fit_then_error_names_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "tx.csv", 'customer_id,date,amount\na,2024-01-01,10\nb,2024-01-02,"12,50"\n')
    code = run_cli(["clv", "fit", str(path), "--observation-end", "2024-03-31"])
    err = capsys.readouterr().err
    assert code == commands.EXIT_INPUT_ERROR
    assert f"{path}, line 3, column 'amount': '12,50' is not a number" in err


def test_given_few_customers_when_fit_then_models_fall_back_and_exit_status_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN three customers, two of whom buy twice on the same day (one purchase day) and one returns later
    path = write_csv(
        tmp_path / "tx.csv",
        "customer_id,date,amount\n"
        "a,2024-01-01,10\na,2024-01-01 18:00:00,5\n"
        "b,2024-01-05,20\nb,2024-02-05,25\nb,2024-02-10,-25\n"
        "c,2024-03-01,30\n",
    )
    code = run_cli(["clv", "fit", str(path), "--observation-end", "2024-03-31", "--json"])
    result = json.loads(capsys.readouterr().out)
    # THEN both models fall back with the reason, and the refund day (net 0) is not a purchase day
    assert code == commands.EXIT_FALLBACK
    assert result["model_status"] == "fallback"
    assert result["n_customers"] == 3 and result["n_repeat_customers"] == 1
    assert "only 1 of 3 customers have a repeat purchase" in result["models"]["pareto_nbd"]["message"]
    assert result["models"]["pareto_nbd"]["log_likelihood"] is None


def test_given_holdout_before_observation_end_when_fit_then_input_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run_cli(
        [
            "clv",
            "fit",
            str(FIXTURE),
            "--observation-end",
            "2024-09-30",
            "--holdout-end",
            "2024-09-01",
            *COLUMNS,
        ]
    )
    assert code == commands.EXIT_INPUT_ERROR
    assert "--holdout-end 2024-09-01 must come after --observation-end 2024-09-30" in capsys.readouterr().err
