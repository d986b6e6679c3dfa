"""customer360.model_tables: a model stage's date is replaced whole, or not at all."""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa
import pytest

from customer360.model_tables import replace_as_of_date_rows

DDL = (
    "create table if not exists out.predictions (customer_id varchar not null, as_of_date date not null, "
    "score double)",
    "create table if not exists out.runs (run_id varchar not null, as_of_date date not null, status varchar)",
)
DAY_ONE, DAY_TWO = date(2026, 6, 1), date(2026, 6, 2)


def _predictions(day: date, scores: dict[str, float]) -> pa.Table:
    return pa.table(
        {"score": list(scores.values()), "customer_id": list(scores), "as_of_date": [day] * len(scores)}
    )


def _write(con, day: date, scores: dict[str, float], run_id: str) -> None:
    replace_as_of_date_rows(
        con, day, DDL, "out.predictions", _predictions(day, scores), "out.runs", [(run_id, day, "fitted")]
    )


def test_a_rerun_replaces_its_date_and_leaves_the_other_dates() -> None:
    """GIVEN two dates written WHEN the first date is written again THEN its rows are the new ones only
    (matched by column name), and the second date's rows are untouched."""
    con = duckdb.connect()
    _write(con, DAY_ONE, {"a": 0.1, "b": 0.2}, "run-1")
    _write(con, DAY_TWO, {"a": 0.3}, "run-2")
    _write(con, DAY_ONE, {"c": 0.9}, "run-3")

    assert con.execute(
        "select customer_id, as_of_date, score from out.predictions order by 2, 1"
    ).fetchall() == [
        ("c", DAY_ONE, 0.9),
        ("a", DAY_TWO, 0.3),
    ]
    assert con.execute("select run_id from out.runs order by as_of_date").fetchall() == [
        ("run-3",),
        ("run-2",),
    ]


def test_a_failed_write_leaves_the_date_as_it_was() -> None:
    """GIVEN a written date WHEN a rewrite fails half-way (a run row breaks a not-null column) THEN the
    date's predictions and runs are the earlier ones, and the connection can write again."""
    con = duckdb.connect()
    _write(con, DAY_ONE, {"a": 0.1}, "run-1")

    with pytest.raises(duckdb.ConstraintException):
        _write(con, DAY_ONE, {"b": 0.5}, None)

    assert con.execute("select customer_id from out.predictions").fetchall() == [("a",)]
    assert con.execute("select run_id from out.runs").fetchall() == [("run-1",)]
    _write(con, DAY_ONE, {"b": 0.5}, "run-2")
    assert con.execute("select customer_id from out.predictions").fetchall() == [("b",)]
