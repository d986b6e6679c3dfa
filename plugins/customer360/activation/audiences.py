"""The audience file (``config/audiences.yml``): audiences as data, validated before anything is sent.

An audience is a structured filter over the published mart ``customer_audience_attributes`` (a list of
``{field, op, value}`` conditions that must all hold), the mart columns to send, the contact columns of the
restricted PII model to send where a destination allows them, the consent channel a member must have
consented to, and the destinations. The file also declares the destinations (``file``, ``webhook``,
``postgres``). Which columns exist, their types and their accepted values come from the dbt YAML of the two
models (``customer_audience_attributes.yml``, ``dim_customer_pii.yml``), so the file is checked against the
models' contracts without opening a warehouse.

Every problem is reported at once, each naming the file, the line, the audience (or destination) and the
key: ``config/audiences.yml, line 31, audience 'churn_watch', where[0].value: 'hi' is not one of ...``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ATTRIBUTES_MART = "customer_audience_attributes"
PII_MODEL = "dim_customer_pii"
KEY_COLUMN = "customer_key"
# Columns of dim_customer_pii that are keys, not contact fields.
PII_KEYS = ("customer_id", "customer_key")
OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is_null", "not_null")
LIST_OPERATORS = ("in", "not_in")
NULL_OPERATORS = ("is_null", "not_null")
ORDER_OPERATORS = ("gt", "gte", "lt", "lte")
CONSENT_CHANNELS = ("email", "sms", "none")
DESTINATION_TYPES = ("file", "webhook", "postgres")
NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
AUDIENCE_KEYS = frozenset(
    {
        "name",
        "description",
        "where",
        "fields",
        "contact_fields",
        "consent",
        "destinations",
        "respect_contact_cap",
    }
)
DESTINATION_KEYS = {
    "file": frozenset({"type", "formats", "allow_contact_fields"}),
    "webhook": frozenset({"type", "url", "batch_size", "allow_contact_fields"}),
    "postgres": frozenset({"type", "table", "schema", "allow_contact_fields"}),
}
FILE_FORMATS = ("csv", "parquet")


class AudienceFileError(ValueError):
    """The audience file is unreadable or invalid; the message lists every problem with file and line."""


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    accepted_values: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """``boolean``, ``number``, ``date`` or ``text``: what a condition's value must be."""
        t = self.data_type.lower()
        if t.startswith("bool"):
            return "boolean"
        if any(w in t for w in ("int", "double", "decimal", "numeric", "float", "real")):
            return "number"
        if t.startswith(("date", "timestamp")):
            return "date"
        return "text"


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Destination:
    name: str
    type: str
    allow_contact_fields: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Audience:
    name: str
    description: str
    where: tuple[Condition, ...]
    fields: tuple[str, ...]
    contact_fields: tuple[str, ...]
    consent: str
    destinations: tuple[str, ...]
    respect_contact_cap: bool = True


@dataclass(frozen=True)
class AudienceFile:
    path: Path
    version: int
    destinations: dict[str, Destination]
    audiences: tuple[Audience, ...]

    def audience(self, name: str) -> Audience:
        for audience in self.audiences:
            if audience.name == name:
                return audience
        raise KeyError(name)


def _model_columns(yml: Path, model: str) -> dict[str, Column]:
    """The columns of ``model`` declared in its dbt YAML: data type and accepted values."""
    document = yaml.safe_load(yml.read_text(encoding="utf-8"))
    for entry in document.get("models", []):
        if entry.get("name") != model:
            continue
        columns = {}
        for column in entry.get("columns", []):
            meta = (column.get("config") or {}).get("meta") or column.get("meta") or {}
            accepted = tuple(str(v) for v in meta.get("accepted_values", []))
            for test in column.get("data_tests", []) or []:
                if isinstance(test, dict) and "accepted_values" in test:
                    spec = test["accepted_values"]
                    accepted = tuple(str(v) for v in (spec.get("arguments", spec)).get("values", []))
            columns[column["name"]] = Column(
                column["name"], str(column.get("data_type", "varchar")), accepted
            )
        return columns
    raise AudienceFileError(f"{yml}: model {model} is not declared there")


def attribute_columns(dbt_project_dir: Path) -> dict[str, Column]:
    """Columns an audience may filter on and send (the mart's contract)."""
    return _model_columns(
        dbt_project_dir / "models" / "analytics" / f"{ATTRIBUTES_MART}.yml", ATTRIBUTES_MART
    )


def contact_columns(dbt_project_dir: Path) -> dict[str, Column]:
    """Columns of the restricted PII model a destination allowed contact fields may receive."""
    columns = _model_columns(
        dbt_project_dir / "models" / "core" / "restricted" / f"{PII_MODEL}.yml", PII_MODEL
    )
    return {name: c for name, c in columns.items() if name not in PII_KEYS}


def _line_index(node: yaml.Node | None, path: tuple = (), index: dict | None = None) -> dict[tuple, int]:
    """1-based line of every key path in the composed YAML (``("audiences", 0, "where", 1, "value")``)."""
    index = {} if index is None else index
    if node is None:
        return index
    index[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            index[(*path, key.value)] = key.start_mark.line + 1
            _line_index(value, (*path, key.value), index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), index)
    return index


class _Problems:
    def __init__(self, path: Path, lines: dict[tuple, int]):
        self.path, self.lines, self.items = path, lines, []

    def add(self, where: tuple, subject: str, key: str, message: str) -> None:
        line = next((self.lines[where[:n]] for n in range(len(where), -1, -1) if where[:n] in self.lines), 1)
        self.items.append(f"{self.path}, line {line}, {subject}, {key}: {message}")


def _check_value(column: Column, value: Any) -> str | None:
    """Why ``value`` cannot be compared with ``column`` (None when it can)."""
    kind = column.kind
    if kind == "boolean" and not isinstance(value, bool):
        return f"{value!r} is not true or false ({column.name} is a boolean)"
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"{value!r} is not a number ({column.name} is {column.data_type})"
    if kind == "text" and not isinstance(value, str):
        return f"{value!r} is not text ({column.name} is {column.data_type}); quote it"
    if column.accepted_values and str(value) not in column.accepted_values:
        return f"{value!r} is not one of {', '.join(column.accepted_values)}"
    return None


def _names(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return value


def _destinations(raw: Any, problems: _Problems) -> dict[str, Destination]:
    if not isinstance(raw, dict) or not raw:
        problems.add(("destinations",), "file", "destinations", "a mapping of destination names is required")
        return {}
    result = {}
    for name, spec in raw.items():
        where = ("destinations", name)
        subject = f"destination {name!r}"
        if not isinstance(name, str) or not NAME.fullmatch(name):
            problems.add(where, subject, "name", "use lower-case letters, digits and _ (a letter first)")
            continue
        if not isinstance(spec, dict) or spec.get("type") not in DESTINATION_TYPES:
            problems.add(where, subject, "type", f"must be one of {', '.join(DESTINATION_TYPES)}")
            continue
        kind = spec["type"]
        for key in sorted(set(spec) - DESTINATION_KEYS[kind]):
            problems.add((*where, key), subject, key, f"unknown key for a {kind} destination")
        allow = spec.get("allow_contact_fields", False)
        if not isinstance(allow, bool):
            problems.add(
                (*where, "allow_contact_fields"), subject, "allow_contact_fields", "must be true or false"
            )
        if kind == "file":
            formats = spec.get("formats", list(FILE_FORMATS))
            if _names(formats) is None or not formats or set(formats) - set(FILE_FORMATS):
                problems.add((*where, "formats"), subject, "formats", f"a list of {', '.join(FILE_FORMATS)}")
        if kind == "webhook":
            size = spec.get("batch_size")
            if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
                problems.add((*where, "batch_size"), subject, "batch_size", "must be a positive whole number")
            url = spec.get("url")
            if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
                problems.add((*where, "url"), subject, "url", "must be an http:// or https:// URL")
        if kind == "postgres":
            for key, default in (("table", "customer360_audience_members"), ("schema", "public")):
                value = spec.get(key, default)
                if not isinstance(value, str) or not NAME.fullmatch(value):
                    problems.add((*where, key), subject, key, "use lower-case letters, digits and _")
        options = {k: v for k, v in spec.items() if k not in ("type", "allow_contact_fields")}
        result[name] = Destination(name, kind, bool(allow), options)
    return result


def _condition(raw: Any, where: tuple, subject: str, columns: dict[str, Column], problems: _Problems):
    key = f"where[{where[-1]}]"
    if not isinstance(raw, dict):
        problems.add(where, subject, key, "a condition is a mapping {field, op, value}")
        return None
    for extra in sorted(set(raw) - {"field", "op", "value"}):
        problems.add((*where, extra), subject, f"{key}.{extra}", "unknown key (use field, op, value)")
    name, op = raw.get("field"), raw.get("op")
    column = columns.get(name) if isinstance(name, str) else None
    if column is None or name == KEY_COLUMN:
        problems.add(
            (*where, "field"), subject, f"{key}.field", f"{name!r} is not a column of {ATTRIBUTES_MART}"
        )
        return None
    if op not in OPERATORS:
        problems.add((*where, "op"), subject, f"{key}.op", f"{op!r} is not one of {', '.join(OPERATORS)}")
        return None
    value = raw.get("value")
    if op in NULL_OPERATORS:
        if "value" in raw:
            problems.add((*where, "value"), subject, f"{key}.value", f"{op} takes no value")
        return Condition(name, op)
    if "value" not in raw or value is None:
        problems.add(where, subject, f"{key}.value", f"{op} needs a value")
        return None
    if op in LIST_OPERATORS:
        if not isinstance(value, list) or not value:
            problems.add((*where, "value"), subject, f"{key}.value", f"{op} needs a non-empty list")
            return None
        values = value
    else:
        if isinstance(value, list | dict):
            problems.add(
                (*where, "value"), subject, f"{key}.value", f"{op} compares with one value, not a list"
            )
            return None
        values = [value]
        if op in ORDER_OPERATORS and column.kind in ("boolean",):
            problems.add((*where, "op"), subject, f"{key}.op", f"{op} does not apply to a boolean")
            return None
    bad = [reason for reason in (_check_value(column, v) for v in values) if reason]
    for reason in bad:
        problems.add((*where, "value"), subject, f"{key}.value", reason)
    return None if bad else Condition(name, op, tuple(value) if op in LIST_OPERATORS else value)


def _audience(
    raw: Any,
    i: int,
    destinations: dict[str, Destination],
    columns: dict[str, Column],
    contacts: dict[str, Column],
    problems: _Problems,
) -> Audience | None:
    where = ("audiences", i)
    if not isinstance(raw, dict):
        problems.add(where, f"audience #{i + 1}", "audience", "an audience is a mapping")
        return None
    name = raw.get("name")
    subject = f"audience {name!r}" if isinstance(name, str) else f"audience #{i + 1}"
    before = len(problems.items)
    if not isinstance(name, str) or not NAME.fullmatch(name):
        problems.add(
            (*where, "name"), subject, "name", "required; lower-case letters, digits and _ (a letter first)"
        )
    for key in sorted(set(raw) - AUDIENCE_KEYS):
        problems.add((*where, key), subject, key, f"unknown key (known: {', '.join(sorted(AUDIENCE_KEYS))})")
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.add((*where, "description"), subject, "description", "required: say who is in it and why")
    conditions_raw = raw.get("where")
    conditions = []
    if not isinstance(conditions_raw, list) or not conditions_raw:
        problems.add((*where, "where"), subject, "where", "a non-empty list of conditions is required")
    else:
        for j, item in enumerate(conditions_raw):
            conditions.append(_condition(item, (*where, "where", j), subject, columns, problems))
    fields = _names(raw.get("fields", []))
    if fields is None:
        problems.add((*where, "fields"), subject, "fields", "a list of column names")
        fields = []
    for j, name_ in enumerate(fields):
        if name_ not in columns or name_ == KEY_COLUMN:
            problems.add(
                (*where, "fields", j),
                subject,
                f"fields[{j}]",
                f"{name_!r} is not a column of {ATTRIBUTES_MART}",
            )
    contact = _names(raw.get("contact_fields", []))
    if contact is None:
        problems.add((*where, "contact_fields"), subject, "contact_fields", "a list of column names")
        contact = []
    for j, name_ in enumerate(contact):
        if name_ not in contacts:
            problems.add(
                (*where, "contact_fields", j),
                subject,
                f"contact_fields[{j}]",
                f"{name_!r} is not a contact column of {PII_MODEL} ({', '.join(contacts)})",
            )
    consent = raw.get("consent")
    if consent not in CONSENT_CHANNELS:
        problems.add(
            (*where, "consent"), subject, "consent", f"required: one of {', '.join(CONSENT_CHANNELS)}"
        )
    if contact and consent == "none":
        problems.add(
            (*where, "consent"), subject, "consent", "an audience that sends contact fields needs consent"
        )
    cap = raw.get("respect_contact_cap", True)
    if not isinstance(cap, bool):
        problems.add((*where, "respect_contact_cap"), subject, "respect_contact_cap", "must be true or false")
    targets = _names(raw.get("destinations"))
    if not targets:
        problems.add(
            (*where, "destinations"), subject, "destinations", "a non-empty list of destination names"
        )
        targets = []
    for j, target in enumerate(targets):
        if target not in destinations:
            problems.add(
                (*where, "destinations", j),
                subject,
                f"destinations[{j}]",
                f"{target!r} is not declared under destinations ({', '.join(destinations) or 'none'})",
            )
    if (
        contact
        and targets
        and not any(destinations.get(t, Destination(t, "")).allow_contact_fields for t in targets)
    ):
        problems.add(
            (*where, "contact_fields"),
            subject,
            "contact_fields",
            "none of the audience's destinations allows contact fields (allow_contact_fields: true)",
        )
    if len(problems.items) > before:
        return None
    return Audience(
        name=name,
        description=description.strip(),
        where=tuple(c for c in conditions if c is not None),
        fields=tuple(fields),
        contact_fields=tuple(contact),
        consent=consent,
        destinations=tuple(targets),
        respect_contact_cap=cap,
    )


def load_audiences(path: Path, dbt_project_dir: Path) -> AudienceFile:
    """Read and validate the audience file; raise :class:`AudienceFileError` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AudienceFileError(f"{path}: cannot read the audience file: {exc}") from exc
    try:
        document = yaml.safe_load(text)
        lines = _line_index(yaml.compose(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise AudienceFileError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    problems = _Problems(path, lines)
    if not isinstance(document, dict):
        raise AudienceFileError(f"{path}, line 1: expected a mapping with version, destinations, audiences")
    for key in sorted(set(document) - {"version", "destinations", "audiences"}):
        problems.add((key,), "file", key, "unknown key (known: version, destinations, audiences)")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.add(("version",), "file", "version", "required: a whole number, raised on every change")
    columns = attribute_columns(dbt_project_dir)
    contacts = contact_columns(dbt_project_dir)
    destinations = _destinations(document.get("destinations"), problems)
    raw_audiences = document.get("audiences")
    audiences: list[Audience] = []
    if not isinstance(raw_audiences, list) or not raw_audiences:
        problems.add(("audiences",), "file", "audiences", "a non-empty list of audiences is required")
    else:
        seen: set[str] = set()
        for i, raw in enumerate(raw_audiences):
            audience = _audience(raw, i, destinations, columns, contacts, problems)
            if audience is None:
                continue
            if audience.name in seen:
                problems.add(("audiences", i, "name"), f"audience {audience.name!r}", "name", "defined twice")
                continue
            seen.add(audience.name)
            audiences.append(audience)
    if problems.items:
        raise AudienceFileError(
            f"{path}: {len(problems.items)} problem(s) in the audience file:\n  - "
            + "\n  - ".join(problems.items)
        )
    return AudienceFile(path, version, destinations, tuple(audiences))
