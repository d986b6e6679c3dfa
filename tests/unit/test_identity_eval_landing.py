"""The evaluation sets' landing writer: contract columns only, nested JSON with its lines grouped."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from customer360_dev.identity_eval.landing import LandingFrameError, write_landing

DAY = date(2026, 6, 30)


def test_given_web_order_lines_when_written_then_one_json_object_per_order_nests_customer_and_lines(tmp_path):
    frame = pd.DataFrame(
        {
            "order_id": ["o1", "o1", "o2"],
            "ordered_at": ["2026-06-01T10:00:00+00:00"] * 3,
            "status": ["completed"] * 3,
            "customer.email": ["ann@example.org", "ann@example.org", None],
            "customer.first_name": ["Ann", "Ann", "Bo"],
            "line_number": [2, 1, 1],
            "sku": ["b", "a", "c"],
            "quantity": [1, 1, 2],
            "unit_price": ["2.00", "1.50", "3.00"],
        }
    )

    path = write_landing(frame, "web_orders", tmp_path, DAY, "web")

    assert path == tmp_path / "web_orders" / "2026-06-30" / "web.jsonl"
    orders = [json.loads(line) for line in path.read_text().splitlines()]
    assert [o["order_id"] for o in orders] == ["o1", "o2"]
    assert orders[0]["customer"] == {"email": "ann@example.org", "first_name": "Ann"}
    assert [line["sku"] for line in orders[0]["lines"]] == ["a", "b"]
    assert orders[1]["customer"]["email"] is None


def test_given_till_rows_when_written_then_the_csv_uses_the_channels_delimiter(tmp_path):
    frame = pd.DataFrame(
        {
            "transaction_id": ["t1"],
            "line_number": [1],
            "store_id": ["S1"],
            "transacted_at": ["2026-06-01T10:00:00"],
            "transaction_type": ["sale"],
            "sku": ["x"],
            "quantity": [1],
            "unit_price": ["2.50"],
            "customer_phone": ["0151 12345678"],
        }
    )

    path = write_landing(frame, "pos_transactions", tmp_path, DAY, "pos")

    header, row = path.read_text().splitlines()
    assert header.split(";")[:3] == ["transaction_id", "line_number", "store_id"]
    assert row.endswith(";0151 12345678")


def test_given_a_column_the_contract_does_not_know_when_written_then_it_is_refused(tmp_path):
    frame = pd.DataFrame(
        {"response_id": ["s1"], "submitted_at": ["2026-06-01"], "survey_type": ["csat"], "vip": [1]}
    )

    with pytest.raises(
        LandingFrameError, match=r"surveys: columns \['vip'\] are not in the landing contract"
    ):
        write_landing(frame, "surveys", tmp_path, DAY, "surveys")


def test_given_a_required_value_missing_when_written_then_it_is_refused(tmp_path):
    frame = pd.DataFrame(
        {"response_id": ["s1", None], "submitted_at": ["2026-06-01"] * 2, "survey_type": ["csat"] * 2}
    )

    with pytest.raises(LandingFrameError, match="response_id"):
        write_landing(frame, "surveys", tmp_path, DAY, "surveys")
