"""What a stage's suites are made of: one :class:`SuiteSpec` per table, expectations tagged with a severity.

The suite modules under ``expectations/`` build these; the runner (``customer360.quality.runner``) turns them
into GX suites, assets and a checkpoint without knowing anything stage-specific.

Severity lives in two places on every expectation: ``meta["severity"]`` (ours, what the runner reads and what
Data Docs show under "meta") and GX's own ``severity`` field (so GX tooling agrees with us).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from customer360.sql_strings import sql_string

Severity = Literal["critical", "warning"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning")

# An address, loosely: something@something.tld without spaces. Deliberately permissive (Unicode local parts,
# IDN domains pass); the identity stage decides deliverability. Same pattern for raw (any case) and staging.
EMAIL_REGEX = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
# A number as the landing contract writes it (customer360.ingest.checks: digits, "." as the decimal mark).
NUMBER_REGEX = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"


def number_or_null_sql(expression: str) -> str:
    """``expression`` (text) as a double, or null when it is not a number: DuckDB's ``try_cast`` in SQL that
    PostgreSQL runs too (``~`` is a regex search in both; the pattern is anchored)."""
    return f"(case when {expression} ~ '{NUMBER_REGEX}' then cast({expression} as double precision) end)"


@dataclass(frozen=True)
class SuiteSpec:
    """One GX suite over one warehouse table, or over the rows of it that ``rows`` selects.

    ``expectations`` are GX expectation objects (``great_expectations.expectations.*``), each carrying
    ``meta={"severity": ...}`` (use :func:`critical` / :func:`warning`).

    ``rows`` is a SQL condition on the table's columns (it may name the table, as ``<table>.<column>``, and
    read other tables): the suite validates only the rows it selects, and ``{batch}`` in a query check
    stands for those rows. ``None`` validates the whole table. The condition is plain SQL, not a GX
    template: quote values with :func:`sql_string`, not :func:`sql_literal`.
    """

    name: str
    schema: str
    table: str
    expectations: list[Any] = field(default_factory=list)
    description: str = ""
    rows: str | None = None

    @property
    def qualified_table(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def batch_query(self) -> str | None:
        """The query whose result the suite validates, when it validates selected rows only."""
        if self.rows is None:
            return None
        return f"select * from {self.schema}.{self.table} where {self.rows}"

    @property
    def has_critical(self) -> bool:
        return any(severity_of(e) == "critical" for e in self.expectations)


def critical(why: str = "") -> dict[str, Any]:
    """Keyword arguments that mark an expectation critical: a failure stops the run."""
    return _tag("critical", why)


def warning(why: str = "") -> dict[str, Any]:
    """Keyword arguments that mark an expectation as a warning: reported, the run goes on."""
    return _tag("warning", why)


def _tag(severity: Severity, why: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"severity": severity}
    if why:
        meta["why"] = why
    return {"meta": meta, "severity": severity}


def severity_of(expectation_or_meta: Any) -> Severity:
    """The severity of an expectation (object, configuration or its ``meta`` dict); critical when unset."""
    meta = (
        expectation_or_meta
        if isinstance(expectation_or_meta, dict)
        else getattr(expectation_or_meta, "meta", None)
    )
    value = (meta or {}).get("severity", "critical")
    if value not in SEVERITIES:
        raise ValueError(f"severity {value!r} is not one of {', '.join(SEVERITIES)}; fix the suite's meta")
    return value


def sql_literal(value: object) -> str:
    """A SQL string literal for values the suites put into GX queries (names, dates, run ids).

    Quotes are doubled for SQL; braces are doubled because GX fills ``{batch}`` with ``str.format``.
    """
    return as_query_template(sql_string(value))


def as_query_template(sql: str) -> str:
    """Plain SQL made safe to embed in a GX query template (``{batch}`` is filled with ``str.format``)."""
    return sql.replace("{", "{{").replace("}", "}}")
