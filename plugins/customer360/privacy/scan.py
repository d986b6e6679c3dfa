"""Look for raw personal data (email addresses, phone numbers) where only pseudonyms and masks belong.

``customer360 privacy scan`` checks, with regular expressions:

- every table of the BI-facing schemas of the warehouse (``marts``), column by column;
- every kept published snapshot: its DuckDB file (every table), its Parquet files and its manifest;
- every text file of the run folders (``summary.json``, ``report.html``, ``progress.jsonl``, quality JSON,
  Data Docs), of the embedded Airflow's logs and of dbt's logs and artefacts under the home.

The third-party scripts, styles and licences the Data Docs ship under ``static/vendor/`` are skipped when they
are byte-identical to the files vendored with the code (``customer360/quality/data_docs_assets``): they
carry their authors' contact addresses and digit runs shaped like phone numbers, and nothing of a run. Every
other file of a Data Docs site (the pages, which show sample rows) is scanned.

Masked values (``j***@gmail.com``, ``+3161****678``) and salted hashes do not match. Findings name the
location (table and column, or file and line) and carry a *masked* example, so the scan's own output never
repeats what it found. Tables are searched in DuckDB with a coarse RE2 pre-filter; Python's stricter patterns
then confirm each candidate value.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import customer360.quality
from customer360.privacy.pseudonym import mask_email, mask_phone
from customer360.settings import Settings
from customer360.sql_strings import sql_string

if TYPE_CHECKING:
    import duckdb

Kind = Literal["email", "phone"]

# Schemas of the warehouse BI tools may read (see customer360.publish.snapshot.PUBLISHED_SCHEMAS).
BI_SCHEMAS: tuple[str, ...] = ("marts",)
# Candidate rows fetched per table for confirmation in Python; findings report how many were confirmed.
SAMPLE_ROWS = 500
# Text files larger than this are read in slices of this size (report.html embeds plotly.js, ~5 MB).
TEXT_SLICE_BYTES = 16 * 1024 * 1024
TEXT_SUFFIXES = (
    ".json",
    ".jsonl",
    ".html",
    ".htm",
    ".log",
    ".txt",
    ".md",
    ".csv",
    ".yml",
    ".yaml",
    ".sql",
    ".js",
)
BINARY_PROBE_BYTES = 8192
# The third-party files Data Docs sites ship (customer360.quality.data_docs copies this folder into each
# site's static/vendor/, its ASSETS_DIR and VENDOR_DIR; not imported here: that module loads GX).
DATA_DOCS_ASSETS = Path(customer360.quality.__file__).with_name("data_docs_assets")
DATA_DOCS_VENDOR_DIR = ("static", "vendor")

# The person's own address in its usual shapes (Unicode local parts and domains included).
EMAIL_PATTERN = re.compile(r"(?<![\w.%+\-])[\w.%+\-]*\w@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}(?!\w)")
# International (+31 6 1234 5678, 0031612345678), national with a trunk zero ((023) 203 0353, 06-12345678)
# and Chinese mobile (138 1234 5678) numbers. Digit counts are checked after the match (PHONE_DIGITS).
PHONE_PATTERNS = (
    re.compile(r"(?<![\w+.\-/:])(?:\+|00)[1-9](?:[ \-.]?\(?\d\)?){7,16}(?![\w])"),
    re.compile(r"(?<![\w+.\-/:(])(?:\(0\d{1,4}\)|0\d)(?:[ \-.]?\d){7,12}(?![\w])"),
    re.compile(r"(?<![\w+.\-/:])1[3-9]\d(?:[ \-]?\d{4}){2}(?![\w])"),
)
PHONE_DIGITS = (9, 15)
# Identifiers the tools write (GX, Airflow and dbt ids are UUIDs) can start with a digit run shaped like a
# phone number ("08309508-4005-..."): they are blanked out before phones are searched.
_UUID = re.compile(
    r"(?i)(?<![0-9a-f])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-f])"
)
# Coarse pre-filters in RE2 (DuckDB): a superset of the patterns above, to skip clean rows in SQL.
EMAIL_PREFILTER = r"[^\s@]@[^\s@]+\.[^\W\d_]{2}"
PHONE_PREFILTER = r"(\+|00|0|1[3-9])\(?\d[\d \-.()]{6,20}\d"
_SEPARATOR_RUN = re.compile(r"[ \-.]{2,}")
# Not customer data: domains reserved for examples and documentation (RFC 2606, RFC 6761), and the contact
# addresses third-party libraries ship inside assets the report embeds (plotly.js bundles a licence notice).
RESERVED_DOMAINS = (
    "example.com",
    "example.org",
    "example.net",
    ".example",
    ".test",
    ".invalid",
    ".localhost",
)
ALLOWED_EMAILS = frozenset({"feross@feross.org"})
_ASCENDING = frozenset(("0123456789" * 3)[i : i + n] for n in range(9, 16) for i in range(10))


@dataclass(frozen=True)
class Finding:
    """Raw personal data found somewhere it should not be."""

    location: str  # "warehouse marts.dim_customers.email_masked", "published .../x.parquet col", "file:line"
    kind: Kind
    example: str  # masked: the scan's output never repeats the value
    count: int = 1

    def sentence(self) -> str:
        many = f"{self.count} values" if self.count != 1 else "1 value"
        return f"{self.location}: {many} look like a raw {self.kind} (e.g. {self.example})"


@dataclass
class ScanReport:
    findings: list[Finding] = field(default_factory=list)
    scanned: list[str] = field(default_factory=list)  # locations searched (tables, files)
    seconds: float = 0.0
    allowed: frozenset[str] = frozenset()  # values known not to be anybody's (dbt unit-test fixtures)

    @property
    def clean(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, object]:
        return {
            "clean": self.clean,
            "findings": [asdict(f) for f in self.findings],
            "scanned": len(self.scanned),
            "seconds": round(self.seconds, 2),
        }


# --- matching -------------------------------------------------------------------------------------------


def _phone_ok(candidate: str) -> bool:
    digits = "".join(ch for ch in candidate if ch.isdigit())
    if not PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1] or _SEPARATOR_RUN.search(candidate):
        return False
    # 0000000000 and 0123456789 are constants (code, alphabets), not numbers anybody answers
    return len(set(digits.lstrip("0+"))) > 2 and digits not in _ASCENDING


def _allowed_email(address: str) -> bool:
    domain = address.rsplit("@", 1)[1].lower()
    return (
        address.lower() in ALLOWED_EMAILS or domain.endswith(RESERVED_DOMAINS) or domain in RESERVED_DOMAINS
    )


def find_personal_data(text: str, allowed: frozenset[str] = frozenset()) -> list[tuple[Kind, str]]:
    """Every email and phone number in ``text``, as ``(kind, value)``, in order of appearance.

    A number matched by two phone patterns (``0031...`` is international and starts with a zero) counts once;
    values in ``allowed`` (lower case) are known not to be anybody's (see :func:`dbt_fixture_values`).
    """
    found: list[tuple[int, int, Kind, str]] = [
        (m.start(), m.end(), "email", m.group())
        for m in EMAIL_PATTERN.finditer(text)
        if not _allowed_email(m.group())
    ]
    without_ids = _UUID.sub(lambda m: " " * len(m.group()), text)  # same length: positions stay
    for pattern in PHONE_PATTERNS:
        found += [
            (m.start(), m.end(), "phone", m.group())
            for m in pattern.finditer(without_ids)
            if _phone_ok(m.group())
        ]
    found.sort()
    kept: list[tuple[Kind, str]] = []
    covered_to = -1
    for start, end, kind, value in found:
        if start < covered_to:
            continue
        covered_to = end
        if value.strip().lower() not in allowed:
            kept.append((kind, value))
    return kept


def _masked(kind: Kind, value: str) -> str:
    return (mask_email(value) if kind == "email" else mask_phone(value)) or ""


def _findings_from_values(location: str, values: Iterable[str], allowed: frozenset[str]) -> list[Finding]:
    counts: dict[Kind, int] = {}
    examples: dict[Kind, str] = {}
    for value in values:
        kinds = {kind: found for kind, found in find_personal_data(value, allowed)}
        for kind, found in kinds.items():
            counts[kind] = counts.get(kind, 0) + 1
            examples.setdefault(kind, _masked(kind, found))
    return [Finding(location, kind, examples[kind], counts[kind]) for kind in sorted(counts)]


# --- tables ---------------------------------------------------------------------------------------------


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _text_columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[str]:
    """Columns that can hold text: VARCHAR, and nested or JSON types (searched as their text form)."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()
    textual = ("VARCHAR", "JSON", "STRUCT", "MAP", "UNION")
    return [name for name, kind in rows if kind.startswith(textual) or kind.endswith("[]")]


def scan_relation(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    columns: list[str],
    location: str,
    allowed: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Findings in ``columns`` of ``relation`` (any SQL relation: a table, ``read_parquet(...)``)."""
    findings: list[Finding] = []
    for column in columns:
        text = f"cast({_quote(column)} as varchar)"
        values = con.execute(
            f"select distinct {text} as v from {relation} "
            f"where regexp_matches({text}, ?) or regexp_matches({text}, ?) limit {SAMPLE_ROWS}",
            [EMAIL_PREFILTER, PHONE_PREFILTER],
        ).fetchall()
        findings += _findings_from_values(
            f"{location}.{column}", (v for (v,) in values if v is not None), allowed
        )
    return findings


def _tables(
    con: duckdb.DuckDBPyConnection, catalog: str, schemas: tuple[str, ...] | None
) -> list[tuple[str, str]]:
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables where table_catalog = ? "
        "order by 1, 2",
        [catalog],
    ).fetchall()
    return [(s, t) for s, t in rows if schemas is None or s in schemas]


def scan_database(
    path: Path,
    schemas: tuple[str, ...] | None,
    label: str,
    report: ScanReport,
    schema_label: str | None = None,
) -> None:
    """Scan every table of ``schemas`` (every schema when None) of a DuckDB file, opened read-only;
    ``schema_label`` names the schema in the findings (the marts' own file: ``marts``, as the warehouse
    names it)."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        catalog = con.execute("select current_database()").fetchone()[0]
        for schema, table in _tables(con, catalog, schemas):
            location = f"{label} {schema_label or schema}.{table}"
            report.scanned.append(location)
            columns = _text_columns(con, catalog, schema, table)
            relation = f"{_quote(schema)}.{_quote(table)}"
            report.findings += scan_relation(con, relation, columns, location, report.allowed)
    finally:
        con.close()


def scan_parquet(path: Path, report: ScanReport) -> None:
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"create temp view scanned as select * from read_parquet({sql_string(path)})")
        columns = _text_columns(con, "temp", "main", "scanned")
        report.scanned.append(str(path))
        report.findings += scan_relation(con, "scanned", columns, str(path), report.allowed)
    finally:
        con.close()


# --- files ----------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=4)
def vendored_assets(assets_dir: Path = DATA_DOCS_ASSETS) -> dict[tuple[str, ...], str]:
    """SHA-256 of every file vendored for the Data Docs, by its path (as parts) under ``static/vendor/``."""
    if not assets_dir.is_dir():
        return {}
    return {
        path.relative_to(assets_dir).parts: _sha256(path)
        for path in sorted(assets_dir.rglob("*"))
        if path.is_file()
    }


def is_vendored_asset(path: Path, assets: dict[tuple[str, ...], str] | None = None) -> bool:
    """Whether ``path`` is one of the shipped Data Docs library files, unchanged: it lies at
    ``.../static/vendor/<p>`` where ``<p>`` is a vendored file, and its bytes are that file's.

    Anything else under ``static/vendor/`` (a new file, a vendored file with one byte changed) is scanned."""
    assets = vendored_assets() if assets is None else assets
    parts = path.parts
    size = len(DATA_DOCS_VENDOR_DIR)
    for i in range(len(parts) - size):
        if parts[i : i + size] == DATA_DOCS_VENDOR_DIR:
            expected = assets.get(parts[i + size :])
            if expected is not None and _sha256(path) == expected:
                return True
    return False


def _is_binary(path: Path) -> bool:
    with path.open("rb") as fh:
        return b"\x00" in fh.read(BINARY_PROBE_BYTES)


def _text_slices(path: Path) -> Iterator[tuple[int, str]]:
    """(first line number, text) slices of a file, cut at line ends."""
    line = 1
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        while True:
            chunk = fh.read(TEXT_SLICE_BYTES)
            if not chunk:
                return
            rest = fh.readline()
            chunk += rest
            yield line, chunk
            line += chunk.count("\n")


def scan_text_file(path: Path, report: ScanReport) -> None:
    """Findings in one text file, one per kind, located at the first line where it occurs."""
    report.scanned.append(str(path))
    counts: dict[Kind, int] = {}
    first: dict[Kind, tuple[int, str]] = {}
    for start_line, text in _text_slices(path):
        for kind, value in find_personal_data(text, report.allowed):
            counts[kind] = counts.get(kind, 0) + 1
            if kind not in first:
                offset = text.find(value)
                first[kind] = (start_line + text.count("\n", 0, offset), value)
    for kind in sorted(counts):
        line, value = first[kind]
        report.findings.append(Finding(f"{path}:{line}", kind, _masked(kind, value), counts[kind]))


def scan_folder(root: Path, report: ScanReport) -> None:
    """Every file under ``root``: Parquet and DuckDB files through SQL, text files as text."""
    if not root.exists():
        return
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        name = path.name.lower()
        if name.endswith(".parquet"):
            scan_parquet(path, report)
        elif name.endswith(".duckdb"):
            scan_database(path, None, str(path), report)
        elif name.endswith(".wal") or name.endswith(".tmp"):
            continue
        elif is_vendored_asset(path):
            continue  # a third-party library file of the Data Docs, as shipped (see the module's docstring)
        elif name.endswith(TEXT_SUFFIXES) or not _is_binary(path):
            scan_text_file(path, report)


# --- the whole scan -------------------------------------------------------------------------------------


def dbt_fixture_values(dbt_project_dir: Path) -> frozenset[str]:
    """Every email and phone number written in the dbt project itself, in lower case.

    ``dbt build`` runs the project's unit tests with every daily run, so their made-up rows (``given`` and
    ``expect``) end up in dbt's compiled SQL, artefacts and log, and so do examples in model descriptions
    (``+31612345678`` in the manifest) and constants of models and macros (the placeholder phone numbers of
    ``identity_blocklist()``, compiled into every model that uses it). Values written in the project's code
    are nobody's: the scan does not report them.
    """
    values: set[str] = set()
    for pattern in ("*.yml", "*.yaml", "*.md", "*.csv", "*.sql"):
        for path in sorted(dbt_project_dir.rglob(pattern)):
            if any(
                part in ("target", "dbt_packages", "logs") for part in path.relative_to(dbt_project_dir).parts
            ):
                continue
            for _, value in find_personal_data(path.read_text(encoding="utf-8", errors="replace")):
                values.add(value.strip().lower())
    return frozenset(values)


def scan_locations(settings: Settings) -> list[Path]:
    """Folders the pipeline writes that BI users, operators or log readers see."""
    return [
        settings.published_dir / "snapshots",
        settings.runs_dir,
        settings.airflow_home / "logs",
        settings.home / "dbt",
    ]


def scan(settings: Settings, schemas: tuple[str, ...] = BI_SCHEMAS) -> ScanReport:
    """Scan the warehouse's BI-facing schemas, the published snapshots, run folders and logs."""
    started = time.perf_counter()
    report = ScanReport(allowed=dbt_fixture_values(settings.dbt_project_dir))
    from customer360.warehouse import MARTS_DATABASE, marts_path

    if settings.warehouse_path.exists():
        scan_database(settings.warehouse_path, schemas, "warehouse", report)
    # DuckDB target: the marts are in their own file beside the warehouse, in its schema main.
    if marts_path(settings).exists() and (schemas is None or MARTS_DATABASE in schemas):
        scan_database(marts_path(settings), ("main",), "warehouse", report, schema_label=MARTS_DATABASE)
    for folder in scan_locations(settings):
        scan_folder(folder, report)
    report.seconds = time.perf_counter() - started
    return report


def render(report: ScanReport, as_json: bool = False) -> str:
    if as_json:
        return json.dumps(report.as_dict(), indent=2)
    if report.clean:
        places = len(report.scanned)
        return f"no raw email or phone number found in {places} location(s) ({report.seconds:.1f} s)"
    lines = [f"{len(report.findings)} finding(s) in {len(report.scanned)} location(s) scanned:"]
    lines += [f"  - {f.sentence()}" for f in report.findings]
    lines.append("Mask or hash these values at their source (see docs/guarantees.md, personal data).")
    return "\n".join(lines)
