"""Raw stage: the landing contract, checked on what ingest wrote (``raw.<channel>``, ``audit.*``).

The checks on rows look at **this run's files**: the landing files dated the run's date, and any file this
run loaded (a late file for an earlier date, or every file on a first run), as ``audit.file_manifest``
records them (:func:`this_run_files_sql`). A daily run so checks one day of raw rows, not the whole history
again; a rerun of a date checks that date's files again, whichever run loaded them. A bad row stops the run
that loaded it (and every rerun of its date) but not every later day: once reported, redelivering the file
corrected (same name) replaces its rows. Until then a later run does not check it again, and its staging
build reads it like any row not yet built (the staging gate and dbt's tests still apply). Rows without a
file name cannot say whose they are and are always checked. Table-wide, because they judge the ledger or
need its history: the ``audit.file_manifest`` columns and rows_read = loaded + quarantined (a few rows per
file), and the volume and freshness alerts (a median over earlier dates).

Built from ``customer360.landing.contract.CHANNELS``, so a contract change changes the suites:

- every required column is not null; every enum column holds an allowed value (case-insensitive: raw text
  is as delivered, ``Completed`` is fine, staging lower-cases); numbers lie in the contract's min/max;
- lineage is complete (file, line, checksum, record hash, run);
- email columns look like addresses (warning: staging and identity clean them; the share is this run's);
- ``audit.file_manifest``: rows read = rows loaded + rows quarantined for every loaded file; every file of
  this run has its records in raw; the quarantined share per channel in this run stays below the warning
  and critical thresholds;
- alerts (``customer360.quality.alerting``, suite ``audit.file_manifest.alerts``, warnings): every channel
  delivered a file for the run's date (freshness), and no channel's rows loaded for the date dropped 80% or
  more below the median of its previous 7 loaded dates (volume);
- ``audit.quarantine``: each row of this run's files keeps its file, line and reason, and each of this
  run's files has as many quarantined records as the manifest says.
"""

from __future__ import annotations

import re
from datetime import date

import great_expectations.expectations as gxe

from customer360.landing.contract import CHANNELS, Channel, raw_column_name
from customer360.privacy.suppression import ERASED_REASON_PREFIX, SUPPRESSED_REASON
from customer360.quality.query_check import ExpectQueryToReturnNoRows
from customer360.quality.specs import (
    EMAIL_REGEX,
    SuiteSpec,
    as_query_template,
    critical,
    number_or_null_sql,
    sql_literal,
    sql_string,
    warning,
)
from customer360.warehouse import AUDIT_SCHEMA, RAW_SCHEMA

# Thresholds (candidates for Settings): share of a channel's rows read in this run that went to quarantine.
QUARANTINE_WARNING_SHARE = 0.05
QUARANTINE_CRITICAL_SHARE = 0.50
# Raw emails are as delivered; below this share of plausible addresses the channel deserves a look.
RAW_EMAIL_MIN_VALID_SHARE = 0.98

LINEAGE_COLUMNS = (
    "_load_date",
    "_source_file",
    "_source_line",
    "_file_sha256",
    "_record_hash",
    "_ingest_run_id",
)
MANIFEST_TABLE = "file_manifest"
QUARANTINE_TABLE = "quarantine"
MANIFEST_STATUSES = ("loaded", "unchanged", "skipped_duplicate", "failed", "ignored")

# The latest 'loaded' manifest row of each of this run's files: a changed file (same name, new checksum)
# replaced the rows of its earlier load. ``{manifest}`` is the manifest relation (``{batch}`` when the
# manifest is the batch), ``{files}`` the query of this run's files (``this_run_files_sql``).
LATEST_LOADS_SQL = """latest_loads as (
    select channel, source_file, file_sha256, rows_loaded, rows_quarantined from (
        select channel, source_file, file_sha256, rows_loaded, rows_quarantined,
            row_number() over (partition by channel, source_file order by ingested_at desc) as load_rank
        from {manifest}
        where status = 'loaded' and (channel, source_file) in ({files})
    ) as loads
    where load_rank = 1
)"""

RAW_RECORDS_SQL = """with {latest_loads},
raw_records as (
{raw_records}
)
select l.channel, l.source_file, l.rows_loaded, coalesce(r.raw_records, 0) as raw_records
from latest_loads as l
left join raw_records as r
    on r.channel = l.channel and r.source_file = l.source_file and r.file_sha256 = l.file_sha256
where l.rows_loaded is distinct from coalesce(r.raw_records, 0)"""

QUARANTINED_RECORDS_SQL = """with {latest_loads},
quarantined as (
    select channel, source_file, count(distinct line_number) as quarantined_records
    from {{batch}}
    group by channel, source_file
)
select l.channel, l.source_file, l.rows_quarantined, coalesce(q.quarantined_records, 0) as quarantined_records
from latest_loads as l
left join quarantined as q on q.channel = l.channel and q.source_file = l.source_file
where l.rows_quarantined is distinct from coalesce(q.quarantined_records, 0)"""


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def enum_regex(allowed: tuple[str, ...]) -> str:
    """Case-insensitive whole-value match of one of ``allowed`` (RE2 syntax, as DuckDB evaluates it)."""
    return "(?i)^(?:" + "|".join(re.escape(v) for v in allowed) + ")$"


def _this_run(as_of_date: date, run_id: str | None) -> str:
    """Manifest rows of this run: files of the run's date, plus whatever this run id loaded (a backfill).

    Plain SQL: wrap it in ``as_query_template`` inside a GX query."""
    condition = f"load_date = date {sql_string(as_of_date.isoformat())}"
    if run_id:
        condition += f" or run_id = {sql_string(run_id)}"
    return f"({condition})"


def this_run_files_sql(as_of_date: date, run_id: str | None) -> str:
    """``(channel, source_file)`` of this run's files: the loaded files dated ``as_of_date``, and every file
    ``run_id`` loaded (a late file for an earlier date; all of them on a first run). Plain SQL."""
    return (
        f"select channel, source_file from {AUDIT_SCHEMA}.{MANIFEST_TABLE} "
        f"where status = 'loaded' and {_this_run(as_of_date, run_id)}"
    )


def this_run_raw_rows_sql(channel: str, as_of_date: date, run_id: str | None) -> str:
    """The rows of ``raw.<channel>`` that this run's raw gate checks (``SuiteSpec.rows``): those of this
    run's files, and any row without a file name (the lineage check names it)."""
    return (
        f"_source_file is null or ({sql_string(channel)}, _source_file) in "
        f"({this_run_files_sql(as_of_date, run_id)})"
    )


# --- raw.<channel> --------------------------------------------------------------------------------------


def _range_check(
    channel: Channel, column: str, low: float | None, high: float | None
) -> ExpectQueryToReturnNoRows:
    name = _quoted(raw_column_name(column))
    value = number_or_null_sql(name)
    bounds = [f"{value} is null"]
    if low is not None:
        bounds.append(f"{value} < {low!r}")
    if high is not None:
        bounds.append(f"{value} > {high!r}")
    limits = (
        f"between {low} and {high}"
        if low is not None and high is not None
        else (f"at least {low}" if low is not None else f"at most {high}")
    )
    return ExpectQueryToReturnNoRows(
        unexpected_rows_query=(
            f"select _source_file, _source_line, {name} as value from {{batch}} "
            f"where {name} is not null and ({' or '.join(bounds)})"
        ),
        description=f"{channel.name}.{column} is a number {limits} (landing contract)",
        **critical("ingest should have quarantined these rows"),
    )


def _lineage_check() -> ExpectQueryToReturnNoRows:
    missing = " or ".join(f"{c} is null" for c in LINEAGE_COLUMNS)
    return ExpectQueryToReturnNoRows(
        unexpected_rows_query=(
            f"select {', '.join(LINEAGE_COLUMNS)} from {{batch}} where {missing} or _source_line < 1"
        ),
        description="every row has its lineage: load date, file, 1-based line, checksum, record hash, run",
        **critical("lineage"),
    )


def channel_suite(channel: Channel, as_of_date: date, run_id: str | None = None) -> SuiteSpec:
    """The contract on the rows of this run's files in ``raw.<channel>``."""
    expectations: list = []
    for column in channel.required_columns:
        expectations.append(
            gxe.ExpectColumnValuesToNotBeNull(
                column=raw_column_name(column), **critical("required by the contract")
            )
        )
    for col in channel.all_columns:
        raw_name = raw_column_name(col.name)
        if col.type == "enum" and col.allowed:
            expectations.append(
                gxe.ExpectColumnValuesToMatchRegex(
                    column=raw_name, regex=enum_regex(col.allowed), **critical("allowed values, any case")
                )
            )
        if col.type in ("int", "decimal") and (col.min_value is not None or col.max_value is not None):
            expectations.append(_range_check(channel, col.name, col.min_value, col.max_value))
        if col.name.split(".")[-1].endswith("email"):
            expectations.append(
                gxe.ExpectColumnValuesToMatchRegex(
                    column=raw_name,
                    regex=EMAIL_REGEX,
                    mostly=RAW_EMAIL_MIN_VALID_SHARE,
                    **warning("delivered emails should mostly be addresses"),
                )
            )
    expectations.append(_lineage_check())
    return SuiteSpec(
        name=f"raw.{channel.name}",
        schema=RAW_SCHEMA,
        table=channel.name,
        expectations=expectations,
        description=f"{channel.description} (the rows of this run's files)",
        rows=this_run_raw_rows_sql(channel.name, as_of_date, run_id),
    )


# --- audit.file_manifest --------------------------------------------------------------------------------


def _raw_records_per_file() -> str:
    """Records (distinct source lines) per file and checksum of this run's files (``latest_loads``) in every
    raw table, as one union."""
    return "\n    union all\n".join(
        f"    select {sql_literal(name)} as channel, _source_file as source_file, "
        "_file_sha256 as file_sha256, count(distinct _source_line) as raw_records "
        f"from {RAW_SCHEMA}.{_quoted(name)} "
        f"where _source_file in (select source_file from latest_loads where channel = {sql_literal(name)}) "
        "group by _source_file, _file_sha256"
        for name in CHANNELS
    )


# Lines taken out for privacy, not for a fault of the delivery: a person's records erased after they loaded
# (customer360.privacy.erasure) and re-delivered records of an erased person (customer360.privacy
# .suppression). Both count as quarantined so every file reconciles; the quarantine share leaves them out (a
# date whose only web order was an erased person's is not a broken delivery).
PRIVACY_QUARANTINE_SQL = (
    "select channel, source_file, count(distinct line_number) as lines "
    f"from {AUDIT_SCHEMA}.quarantine "
    f"where reason like '{ERASED_REASON_PREFIX} %' or reason like '{SUPPRESSED_REASON.split(':')[0]}: %' "
    "group by channel, source_file"
)


def _share_check(
    as_of_date: date, run_id: str | None, share: float, severity: str
) -> ExpectQueryToReturnNoRows:
    tag = critical if severity == "critical" else warning
    this_run = as_query_template(_this_run(as_of_date, run_id))
    return ExpectQueryToReturnNoRows(
        unexpected_rows_query=(
            f"with privacy as ({as_query_template(PRIVACY_QUARANTINE_SQL)}), "
            "loads as (select m.channel, "
            "m.rows_read - least(coalesce(p.lines, 0), m.rows_quarantined) as rows_read, "
            "m.rows_quarantined - least(coalesce(p.lines, 0), m.rows_quarantined) as rows_quarantined "
            "from {batch} as m left join privacy as p "
            "on p.channel = m.channel and p.source_file = m.source_file "
            f"where m.status = 'loaded' and {this_run}) "
            "select channel, sum(rows_read) as rows_read, sum(rows_quarantined) as rows_quarantined, "
            "round(sum(rows_quarantined) / sum(rows_read), 4) as quarantined_share "
            "from loads group by channel "
            f"having sum(rows_read) > 0 and sum(rows_quarantined) > {share!r} * sum(rows_read)"
        ),
        description=f"less than {share:.0%} of a channel's rows read in this run were quarantined",
        **tag("quarantine share per channel in this run"),
    )


def manifest_suite(as_of_date: date, run_id: str | None) -> SuiteSpec:
    expectations: list = [
        *(
            gxe.ExpectColumnValuesToNotBeNull(column=c, **critical())
            for c in ("channel", "load_date", "source_file", "status")
        ),
        ExpectQueryToReturnNoRows(
            unexpected_rows_query=(
                "select channel, source_file, status from {batch} "
                "where file_sha256 is null and status not in ('ignored', 'failed')"
            ),
            description="every file ingest read has its checksum (ignored, oversized files are not opened)",
            **critical(),
        ),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(MANIFEST_STATUSES), **critical()),
        gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=list(CHANNELS), **critical()),
        ExpectQueryToReturnNoRows(
            unexpected_rows_query=(
                "select channel, source_file, rows_read, rows_loaded, rows_quarantined from {batch} "
                "where status = 'loaded' and (rows_read is null or rows_loaded is null "
                "or rows_quarantined is null or rows_read <> rows_loaded + rows_quarantined)"
            ),
            description="every loaded file reconciles: rows_read = rows_loaded + rows_quarantined",
            **critical("nothing lost"),
        ),
        ExpectQueryToReturnNoRows(
            unexpected_rows_query=RAW_RECORDS_SQL.format(
                latest_loads=LATEST_LOADS_SQL.format(
                    manifest="{batch}", files=as_query_template(this_run_files_sql(as_of_date, run_id))
                ),
                raw_records=_raw_records_per_file(),
            ),
            description="every file of this run has its rows_loaded records in its raw table",
            **critical("nothing lost"),
        ),
        _share_check(as_of_date, run_id, QUARANTINE_WARNING_SHARE, "warning"),
        _share_check(as_of_date, run_id, QUARANTINE_CRITICAL_SHARE, "critical"),
        ExpectQueryToReturnNoRows(
            unexpected_rows_query=(
                "select channel, source_file, message from {batch} "
                f"where status = 'failed' and {as_query_template(_this_run(as_of_date, run_id))}"
            ),
            description="no landing file of this run failed to load",
            **warning("the ingest task reports these too"),
        ),
        ExpectQueryToReturnNoRows(
            unexpected_rows_query=(
                "select channel, source_file, message from {batch} "
                f"where status = 'ignored' and {as_query_template(_this_run(as_of_date, run_id))}"
            ),
            description="no file under the landing root was ignored in this run (folder, name, suffix)",
            **warning("the run summary lists them too"),
        ),
    ]
    return SuiteSpec(
        name=f"{AUDIT_SCHEMA}.{MANIFEST_TABLE}",
        schema=AUDIT_SCHEMA,
        table=MANIFEST_TABLE,
        expectations=expectations,
        description="one row per landing file seen by ingest",
    )


# --- audit.quarantine -----------------------------------------------------------------------------------


def quarantine_suite(as_of_date: date, run_id: str | None = None) -> SuiteSpec:
    """The quarantine rows of this run's files (whichever run or erasure wrote them): complete per file, so
    each file's count can be reconciled with the manifest."""
    files = this_run_files_sql(as_of_date, run_id)
    expectations: list = [
        *(
            gxe.ExpectColumnValuesToNotBeNull(
                column=c, **critical("a quarantined row keeps its file, line, reason")
            )
            for c in ("channel", "source_file", "line_number", "reason")
        ),
        gxe.ExpectColumnValuesToBeBetween(column="line_number", min_value=1, **critical("1-based")),
        gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=list(CHANNELS), **critical()),
        ExpectQueryToReturnNoRows(
            unexpected_rows_query=QUARANTINED_RECORDS_SQL.format(
                latest_loads=LATEST_LOADS_SQL.format(
                    manifest=f"{AUDIT_SCHEMA}.{MANIFEST_TABLE}", files=as_query_template(files)
                )
            ),
            description="each file of this run has its rows_quarantined records in audit.quarantine",
            **critical("nothing lost"),
        ),
    ]
    return SuiteSpec(
        name=f"{AUDIT_SCHEMA}.{QUARANTINE_TABLE}",
        schema=AUDIT_SCHEMA,
        table=QUARANTINE_TABLE,
        expectations=expectations,
        description="one row per rejected record, with its file, line and reason (this run's files)",
        # By file name alone, so a row of this run's file with a wrong channel is checked (and fails).
        rows=f"source_file is null or source_file in (select source_file from ({files}) as files)",
    )


def build_suites(as_of_date: date, run_id: str | None = None) -> list[SuiteSpec]:
    """The raw stage's suites for one run: one per channel, plus the manifest and the quarantine."""
    return [
        *(channel_suite(channel, as_of_date, run_id) for channel in CHANNELS.values()),
        manifest_suite(as_of_date, run_id),
        quarantine_suite(as_of_date, run_id),
        alerts_suite(as_of_date),
    ]


# --- alerts: freshness and volume per channel (customer360.quality.alerting) ---------------------------


def alerts_suite(as_of_date: date) -> SuiteSpec:
    """Freshness and volume anomalies per channel, each row a sentence (column ``message``)."""
    from customer360.quality.alerting import (
        VOLUME_DROP_SHARE,
        VOLUME_HISTORY_DATES,
        freshness_sql,
        volume_anomaly_sql,
    )

    day = as_of_date.isoformat()
    return SuiteSpec(
        name=f"{AUDIT_SCHEMA}.{MANIFEST_TABLE}.alerts",
        schema=AUDIT_SCHEMA,
        table=MANIFEST_TABLE,
        expectations=[
            ExpectQueryToReturnNoRows(
                unexpected_rows_query=freshness_sql(as_of_date, tuple(CHANNELS), manifest="{batch}"),
                description=f"freshness: every channel delivered a file for {day} by the run",
                **warning("a silent channel: its marts miss a day"),
            ),
            ExpectQueryToReturnNoRows(
                unexpected_rows_query=volume_anomaly_sql(as_of_date, manifest="{batch}"),
                description=(
                    f"volume: rows loaded for {day} are not {VOLUME_DROP_SHARE:.0%} or more below the median "
                    f"of the channel's previous {VOLUME_HISTORY_DATES} loaded dates"
                ),
                **warning("a partial delivery looks like a normal one to every row-level check"),
            ),
        ],
        description="volume and freshness per channel, from the manifest",
    )
