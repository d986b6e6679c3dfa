"""What a checkpoint found, in words: per-check outcomes, the stage's verdict and its JSON file.

GX reports ``success=False`` both when the data is bad and when the check itself could not run (an SQL error,
a missing column). :func:`outcome_from_result` tells them apart through ``exception_info``: the first is a
*failure* (critical or warning), the second an *error* — the check is broken, not the data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from customer360.quality.specs import Severity, SuiteSpec, severity_of

Status = Literal["passed", "failed", "error", "missing_table"]

SAMPLE_VALUES = 5  # values (or rows) quoted in one sentence
_MAX_MESSAGE_CHARS = 400


@dataclass(frozen=True)
class CheckOutcome:
    """One expectation's result, flattened for humans and JSON."""

    suite: str
    table: str
    expectation: str
    column: str | None
    severity: Severity
    status: Status
    message: str = ""
    description: str = ""
    unexpected_count: int | None = None
    element_count: int | None = None
    observed_value: Any = None
    sample: list[Any] = field(default_factory=list)


@dataclass
class StageResult:
    """The verdict of one stage's checkpoint. ``ok`` is False on any critical failure or broken check."""

    stage: str
    passed: int
    failed: int
    warnings: int
    critical_failures: list[str]
    results_path: Path
    docs_path: Path
    errors: int = 0
    error_messages: list[str] = field(default_factory=list)
    warning_messages: list[str] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.errors == 0

    def as_dict(self) -> dict[str, Any]:
        """A small JSON-able summary (for XCom, progress events and the run summary)."""
        return {
            "stage": self.stage,
            "ok": self.ok,
            "passed": self.passed,
            "failed": self.failed,
            "warnings": self.warnings,
            "errors": self.errors,
            "critical_failures": list(self.critical_failures),
            "error_messages": list(self.error_messages),
            "warning_messages": list(self.warning_messages),
            "results_path": str(self.results_path),
            "docs_path": str(self.docs_path),
            "seconds": round(self.seconds, 2),
        }

    def failure_message(self) -> str:
        """Why the stage is red, one line per problem, ending with where to look."""
        if self.ok:
            return f"{self.stage} checks passed"
        lines = [
            f"{self.stage} quality gate is red: {self.failed} critical failure(s), "
            f"{self.errors} broken check(s)"
        ]
        lines += [f"  - {m}" for m in self.critical_failures]
        lines += [f"  - {m}" for m in self.error_messages]
        lines.append(f"Results: {self.results_path}  Data Docs: {self.docs_path}")
        return "\n".join(lines)

    def write(self) -> Path:
        """Write ``quality/<stage>.json``: the verdict and every check's outcome."""
        self.results_path.parent.mkdir(parents=True, exist_ok=True)
        payload = {**self.as_dict(), "checks": [asdict(c) for c in self.checks]}
        tmp = self.results_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        tmp.replace(self.results_path)
        return self.results_path


def stage_result(
    stage: str, checks: list[CheckOutcome], results_path: Path, docs_path: Path, seconds: float = 0.0
) -> StageResult:
    """Count outcomes: critical failures and missing critical tables fail; warnings are reported."""
    failed = [c for c in checks if c.status in ("failed", "missing_table") and c.severity == "critical"]
    warned = [c for c in checks if c.status in ("failed", "missing_table") and c.severity == "warning"]
    broken = [c for c in checks if c.status == "error"]
    return StageResult(
        stage=stage,
        passed=sum(c.status == "passed" for c in checks),
        failed=len(failed),
        warnings=len(warned),
        errors=len(broken),
        critical_failures=[c.message for c in failed],
        error_messages=[c.message for c in broken],
        warning_messages=[c.message for c in warned],
        results_path=results_path,
        docs_path=docs_path,
        checks=checks,
        seconds=seconds,
    )


# --- reading GX results ---------------------------------------------------------------------------------


def exception_messages(exception_info: dict[str, Any] | None) -> list[str]:
    """Messages of exceptions GX caught while computing a check (both shapes GX 1.x produces)."""
    if not exception_info:
        return []
    if "raised_exception" in exception_info:
        if exception_info.get("raised_exception"):
            return [str(exception_info.get("exception_message") or "unknown error")]
        return []
    return [
        str(info.get("exception_message") or "unknown error")
        for info in exception_info.values()
        if isinstance(info, dict) and info.get("raised_exception")
    ]


def _short(text: str) -> str:
    """The first lines of an error, without SQLAlchemy's background link, at most a few hundred chars."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and "sqlalche.me" not in ln]
    first = " ".join(lines[:2]) if lines else text.strip()
    return first if len(first) <= _MAX_MESSAGE_CHARS else first[: _MAX_MESSAGE_CHARS - 1] + "…"


def _fmt_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _sample(result: dict[str, Any]) -> list[Any]:
    details = result.get("details") or {}
    if details.get("unexpected_rows"):
        return list(details["unexpected_rows"])[:SAMPLE_VALUES]
    counts = result.get("partial_unexpected_counts")
    if counts:
        return [{"value": c.get("value"), "count": c.get("count")} for c in counts[:SAMPLE_VALUES]]
    return list(result.get("partial_unexpected_list") or [])[:SAMPLE_VALUES]


def _sample_text(sample: list[Any]) -> str:
    parts = []
    for item in sample:
        if isinstance(item, dict) and set(item) == {"value", "count"}:
            parts.append(f"{_fmt_value(item['value'])} ({item['count']}x)")
        elif isinstance(item, dict):
            parts.append("{" + ", ".join(f"{k}: {_fmt_value(v)}" for k, v in item.items()) + "}")
        else:
            parts.append(_fmt_value(item))
    return "; ".join(parts)


def _where(table: str, column: str | None) -> str:
    return f"{table}, column {column}" if column else table


def _failure_sentence(
    table: str,
    column: str | None,
    expectation: str,
    description: str,
    kwargs: dict[str, Any],
    result: dict[str, Any],
    sample: list[Any],
    docs_path: Path,
) -> str:
    what = f"{expectation} ({description})" if description else expectation
    unexpected = result.get("unexpected_count")
    total = result.get("element_count")
    if unexpected is not None:
        share = (
            f" ({result['unexpected_percent']:.2f}%)" if result.get("unexpected_percent") is not None else ""
        )
        of_total = f" of {total:,}" if total is not None else ""
        allowed = ""
        if kwargs.get("mostly") is not None and kwargs["mostly"] < 1:
            allowed = f", more than the {(1 - kwargs['mostly']) * 100:g}% allowed"
        count_text = f"{unexpected:,}{of_total} values unexpected{share}{allowed}"
    elif "details" in result or expectation.endswith("rows") or "unexpected_rows_query" in kwargs:
        observed = result.get("observed_value")
        count_text = f"{observed:,} unexpected row(s)" if isinstance(observed, int) else "unexpected rows"
    else:
        count_text = f"observed {_fmt_value(result.get('observed_value'))}"
    sample_text = f"; sample: {_sample_text(sample)}" if sample else ""
    return f"{_where(table, column)}: {what} failed: {count_text}{sample_text}. Data Docs: {docs_path}"


def outcome_from_result(spec: SuiteSpec, result: dict[str, Any], docs_path: Path, stage: str) -> CheckOutcome:
    """Turn one GX ``ExpectationValidationResult`` (as ``to_json_dict()``) into a :class:`CheckOutcome`."""
    config = result.get("expectation_config") or {}
    kwargs = config.get("kwargs") or {}
    expectation = str(config.get("type") or config.get("expectation_type") or "expectation")
    column = kwargs.get("column")
    severity = severity_of(config.get("meta") or {})
    description = str(config.get("description") or (config.get("meta") or {}).get("why") or "")
    payload = result.get("result") or {}
    base = {
        "suite": spec.name,
        "table": spec.qualified_table,
        "expectation": expectation,
        "column": column,
        "severity": severity,
        "description": description,
    }
    errors = exception_messages(result.get("exception_info"))
    if errors:
        message = (
            f"{_where(spec.qualified_table, column)}: the check {expectation} could not run, so the check is "
            f"broken, not the data: {_short(errors[0])}. Fix the suite in expectations/{stage}.py or the "
            "table it reads."
        )
        return CheckOutcome(**base, status="error", message=message)
    sample = _sample(payload)
    common = {
        "unexpected_count": payload.get("unexpected_count"),
        "element_count": payload.get("element_count"),
        "observed_value": payload.get("observed_value"),
        "sample": sample,
    }
    if result.get("success"):
        return CheckOutcome(**base, status="passed", **common)
    message = _failure_sentence(
        spec.qualified_table, column, expectation, description, kwargs, payload, sample, docs_path
    )
    return CheckOutcome(**base, status="failed", message=message, **common)


def missing_table_outcome(spec: SuiteSpec, warehouse: Path, stage: str) -> CheckOutcome:
    """A suite whose table is not in the warehouse: a failure of the suite's highest severity."""
    severity: Severity = "critical" if spec.has_critical else "warning"
    count = sum(severity_of(e) == severity for e in spec.expectations)
    message = (
        f"{spec.qualified_table} does not exist in the warehouse {warehouse}: its {count} {severity} "
        f"check(s) could not run. Run the step that builds it before validating the {stage} stage."
    )
    return CheckOutcome(
        suite=spec.name,
        table=spec.qualified_table,
        expectation="table_exists",
        column=None,
        severity=severity,
        status="missing_table",
        message=message,
    )
