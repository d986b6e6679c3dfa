"""The table and suites the Great Expectations check on Spark validates (``validation_outcomes``).

One small table with a null key, a duplicate key and a row past the as-of date, and one suite of the kinds
the project's suites use (a column check, a uniqueness check, a regex, a row count, a query check with
double-quoted identifiers and a date literal written for DuckDB), once over the whole table and once over
selected rows.
"""

from __future__ import annotations

from datetime import date

from customer360.quality.specs import SuiteSpec, critical, warning

SCHEMA = "gx_check"
TABLE = "stg_check"
ROWS = [
    (1, "a@example.com", date(2026, 11, 1)),
    (2, None, date(2026, 11, 2)),
    (2, "b@example.com", date(2026, 11, 3)),
    (None, "c@example.com", date(2026, 11, 30)),
]
AS_OF = date(2026, 11, 20)
SELECTED_ROWS = "loaded_on <= date '2026-11-02'"


def suite(rows: str | None = None) -> SuiteSpec:
    import great_expectations.expectations as gxe

    return SuiteSpec(
        name=f"{SCHEMA}__{TABLE}" if rows is None else f"{SCHEMA}__{TABLE}_selected",
        schema=SCHEMA,
        table=TABLE,
        rows=rows,
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="customer_key", **critical("key")),
            gxe.ExpectColumnValuesToBeUnique(column="customer_key", **critical("key")),
            gxe.ExpectColumnValuesToNotBeNull(column="loaded_on", **critical("date")),
            gxe.ExpectColumnValuesToMatchRegex(
                column="email", regex=r"^[^@\s]+@[^@\s]+$", **warning("email")
            ),
            gxe.ExpectTableRowCountToBeBetween(min_value=1, max_value=10, **warning("volume")),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    'select "customer_key", loaded_on from {batch} '
                    f"where loaded_on > date '{AS_OF.isoformat()}'"
                ),
                description="no row after the as-of date",
                **critical("freshness"),
            ),
        ],
    )


def suites() -> list[SuiteSpec]:
    """The suite over the whole table and over ``SELECTED_ROWS``."""
    return [suite(), suite(SELECTED_ROWS)]
