"""Reading GX results into words (customer360.quality.results): no Great Expectations import needed."""

from __future__ import annotations

import json
from pathlib import Path

from customer360.quality.results import exception_messages, outcome_from_result, stage_result
from customer360.quality.specs import SuiteSpec, critical, sql_literal

SPEC = SuiteSpec(name="raw.crm_contacts", schema="raw", table="crm_contacts")
DOCS = Path("/runs/2026-11-24/gx/data_docs/local_site/index.html")


def _result(success: bool, kwargs: dict, result: dict, exception_info: dict | None = None, **config) -> dict:
    return {
        "success": success,
        "expectation_config": {
            "type": config.pop("type", "expect_column_values_to_not_be_null"),
            "kwargs": kwargs,
            "meta": config.pop("meta", critical()["meta"]),
            **config,
        },
        "result": result,
        "exception_info": exception_info or {"raised_exception": False},
    }


def test_exception_info_in_both_gx_shapes_is_read() -> None:
    """GIVEN exception_info as one flat record or keyed by metric WHEN messages are read
    THEN raised exceptions are returned and clean records give nothing."""
    assert exception_messages({"raised_exception": False, "exception_message": None}) == []
    assert exception_messages({"raised_exception": True, "exception_message": "boom"}) == ["boom"]
    keyed = {
        "MetricConfigurationID(a)": {"raised_exception": True, "exception_message": "Binder Error: nope"}
    }
    assert exception_messages(keyed) == ["Binder Error: nope"]
    assert exception_messages(None) == []


def test_a_data_failure_is_a_sentence_with_table_column_count_sample_and_docs() -> None:
    """GIVEN a failed not-null check with 2 of 1,000 values missing WHEN turned into an outcome
    THEN it is a critical failure whose sentence names table, column, check, counts, sample and Data Docs."""
    outcome = outcome_from_result(
        SPEC,
        _result(
            False,
            {"column": "contact_id"},
            {
                "element_count": 1000,
                "unexpected_count": 2,
                "unexpected_percent": 0.2,
                "partial_unexpected_counts": [{"value": None, "count": 2}],
            },
        ),
        DOCS,
        "raw",
    )
    assert (outcome.status, outcome.severity) == ("failed", "critical")
    assert outcome.message == (
        "raw.crm_contacts, column contact_id: expect_column_values_to_not_be_null failed: 2 of 1,000 values "
        f"unexpected (0.20%); sample: null (2x). Data Docs: {DOCS}"
    )


def test_a_query_failure_quotes_its_rows_and_a_mostly_check_its_allowance() -> None:
    """GIVEN a failed SQL check with sample rows, and a regex check below its `mostly` WHEN read
    THEN the first quotes the rows, the second says how much was allowed."""
    query = outcome_from_result(
        SPEC,
        _result(
            False,
            {"unexpected_rows_query": "select ..."},
            {"observed_value": 1, "details": {"unexpected_rows": [{"source_file": "a.csv", "rows_read": 4}]}},
            type="expect_query_to_return_no_rows",
            description="rows reconcile",
        ),
        DOCS,
        "raw",
    )
    assert "expect_query_to_return_no_rows (rows reconcile) failed: 1 unexpected row(s)" in query.message
    assert "{source_file: 'a.csv', rows_read: 4}" in query.message
    mostly = outcome_from_result(
        SPEC,
        _result(
            False,
            {"column": "email", "mostly": 0.98},
            {
                "element_count": 10,
                "unexpected_count": 3,
                "unexpected_percent": 30.0,
                "partial_unexpected_list": ["x", "y"],
            },
        ),
        DOCS,
        "raw",
    )
    assert "3 of 10 values unexpected (30.00%), more than the 2% allowed; sample: 'x'; 'y'" in mostly.message


def test_a_check_that_raised_is_an_error_not_a_failure() -> None:
    """GIVEN success=False with an exception inside GX WHEN read THEN the outcome is an error whose message
    says the check is broken, not the data, and the stage is red with errors counted apart."""
    outcome = outcome_from_result(
        SPEC,
        _result(
            False,
            {"column": "nope"},
            {},
            {"m": {"raised_exception": True, "exception_message": "Binder Error: column nope\nmore"}},
        ),
        DOCS,
        "raw",
    )
    assert outcome.status == "error"
    assert (
        "could not run, so the check is broken, not the data: Binder Error: column nope more"
        in outcome.message
    )
    stage = stage_result("raw", [outcome], Path("/tmp/raw.json"), DOCS)
    assert (stage.failed, stage.errors, stage.ok) == (0, 1, False)


def test_stage_result_counts_severities_and_writes_json(tmp_path: Path) -> None:
    """GIVEN one pass, one warning failure and one critical failure WHEN the stage result is built and written
    THEN warnings do not make it red, the critical does, and quality/<stage>.json holds every check."""
    passed = outcome_from_result(SPEC, _result(True, {"column": "a"}, {"unexpected_count": 0}), DOCS, "raw")
    warned = outcome_from_result(
        SPEC,
        _result(False, {"column": "b"}, {"unexpected_count": 1}, meta={"severity": "warning"}),
        DOCS,
        "raw",
    )
    stage = stage_result("raw", [passed, warned], tmp_path / "quality" / "raw.json", DOCS)
    assert (stage.passed, stage.warnings, stage.failed, stage.ok) == (1, 1, 0, True)
    failed = outcome_from_result(SPEC, _result(False, {"column": "c"}, {"unexpected_count": 1}), DOCS, "raw")
    stage = stage_result("raw", [passed, warned, failed], tmp_path / "quality" / "raw.json", DOCS)
    assert not stage.ok and stage.critical_failures == [failed.message]
    payload = json.loads(stage.write().read_text())
    assert payload["failed"] == 1 and [c["status"] for c in payload["checks"]] == [
        "passed",
        "failed",
        "failed",
    ]


def test_sql_literals_escape_quotes_and_gx_braces() -> None:
    """GIVEN a value with a quote and braces WHEN quoted for a GX query THEN SQL and str.format survive."""
    assert sql_literal("it's {x}") == "'it''s {{x}}'"
    assert ("select " + sql_literal("it's {x}")).format() == "select 'it''s {x}'"
