"""A SQL check whose result always says which rows broke it.

GX's ``UnexpectedRowsExpectation`` returns only the row count unless the whole checkpoint runs with
``result_format=COMPLETE`` (which would also make every column expectation return *all* unexpected values).
:class:`ExpectQueryToReturnNoRows` is that expectation with a small sample of the offending rows in
``result.details.unexpected_rows`` at any result format, so a failure message can show what is wrong.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from great_expectations.compatibility.typing_extensions import override
from great_expectations.expectations.core.unexpected_rows_expectation import UnexpectedRowsExpectation

SAMPLE_ROWS = 5


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of one query value (dates as ISO text, decimals as numbers)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return str(value)


class ExpectQueryToReturnNoRows(UnexpectedRowsExpectation):
    """Passes when ``unexpected_rows_query`` (with ``{batch}`` for the table under test) returns no rows.

    Write the query so that each returned row is one problem, with the columns a reader needs to find it
    (file, line, key, the two numbers that should agree).
    """

    @override
    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> Any:
        outcome = super()._validate(metrics, runtime_configuration, execution_engine)
        if not isinstance(outcome, dict) or "result" not in outcome:
            return outcome  # BOOLEAN_ONLY
        rows = metrics.get("unexpected_rows_query.table") or []
        details = outcome["result"].setdefault("details", {})
        if "unexpected_rows" not in details:
            details["unexpected_rows"] = [
                {k: _plain(v) for k, v in row.items()} for row in rows[:SAMPLE_ROWS]
            ]
        return outcome
