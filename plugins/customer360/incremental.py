"""Incremental dbt builds: how a daily ``dbt build`` of a layer follows the new data, and when it rebuilds.

**Staging.** The staging models are dbt ``incremental`` models (``delete+insert`` on their business key).
In an incremental build each model recomputes only the business keys with a raw row delivered since the
previous build, from *all* raw rows of those keys, so the result equals a full rebuild while the cost follows
the new data. "Delivered since the previous build" is, for a build at as-of date ``D`` after one at
``P <= D``:

* a raw row with ``P < _load_date <= D`` (the new days), or
* a raw row of a file ingested after the previous build started (a late file for an earlier date, or a
  file delivered again under another name), with ``_load_date <= D``.

The identity-input models built with the layer (``models/staging/identity_input``: int_contact_records and
what is made of it) are incremental too: they recompute the source records with a staging row that may have
changed, those with ``_load_date`` on or after the earliest date of a raw row delivered since (the late
files' earliest date is passed as well), or dated into ``(P, D]`` (macros/identity_input_changes.sql).

**Core** (the core build, after identity resolution). The golden record compares its inputs with what its
previous build saw (int_golden_record_inputs_changed) and recomputes the customers whose inputs differ. The
order models recompute the orders of int_orders_changed: those with a staging row delivered since the core
layer's own previous build (the same window as above, from the last core build; late files included), and
those whose identity record moved to another customer. The source-record map, the customer_source_xref mart,
the linked marketing events and the interaction fact recompute the source records of
int_source_records_changed: those with a staging row in the same window, and the members of the identity
records whose answer identity changed since the previous core build *started* (``identity.record_changes``,
``customer360.identity.changes``; a successful core build deletes the changes logged before it started). The
golden record compares only the identity records that can have changed (those changes, and the records the
staging build in between listed) when exactly one staging build ran since the last core build, and every
record otherwise. The layer gets one more var, ``marts_full_rebuild``, true when it must be rebuilt in full;
it is never built with ``--full-refresh`` (the history marts, rebuilt from the facts every run, no longer
need that; the var keeps the builds' ``--vars`` the same).

Some changes cannot be followed key by key, and the layer is rebuilt in full, with the reason logged and
recorded in ``audit.dbt_layer_builds``:

* no earlier build of the layer is recorded (the first run, or a warehouse restored from elsewhere);
* the layer's models, their macros or seeds, or the settings they read changed (a fingerprint differs);
* the as-of date is earlier than the previous build's (a backfill of an earlier day);
* an erasure request was processed since (rows were deleted outside dbt);
* the user asked for it (``CUSTOMER360_FULL_REFRESH=true``);
* a file loaded before was loaded again with new content (its old raw rows are gone);
* core only: the staging layer was rebuilt in full since the last core build (its rows were rewritten);
* core only: identity's change log is missing, or identities were resolved with no earlier answer since the
  last core build (the first resolution logs *every record*, not millions of keys).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from customer360.builds import INCREMENTAL_BUILDS, get_build
from customer360.dbt_runner import RUN_CONTEXT_VARS
from customer360.identity.changes import CHANGES_TABLE
from customer360.ingest.schema import MANIFEST_TABLE
from customer360.settings import Settings
from customer360.warehouse import AUDIT_SCHEMA, has_table, stage_connection

log = logging.getLogger(__name__)

BUILDS_TABLE = f"{AUDIT_SCHEMA}.dbt_layer_builds"
BUILDS_DDL = f"""create table if not exists {BUILDS_TABLE} (
    layer varchar not null, as_of_date date not null, run_id varchar, started_at timestamp not null,
    finished_at timestamp not null, full_refresh boolean not null, reason varchar, fingerprint varchar)"""
ERASURE_LOG_TABLE = f"{AUDIT_SCHEMA}.erasure_log"  # customer360.privacy.erasure writes it
# The incremental builds, and what each one's SQL depends on (customer360.builds).
INCREMENTAL_LAYERS = INCREMENTAL_BUILDS


@dataclass
class BuildPlan:
    """How one layer is built this run, and what an incremental build looks at."""

    layer: str
    as_of_date: date
    full_refresh: bool
    reason: str
    fingerprint: str
    since_as_of: date | None = None
    late_files: list[str] = field(default_factory=list)
    late_from: date | None = None  # the earliest load date of the late files
    # core: identity's changes from this time on (identity.record_changes) are not in the last build yet;
    # and the staging builds since the last build: after exactly one, its int_contact_records_changed lists
    # the source records whose rows changed, which int_source_records_changed reads instead of scanning the
    # staging models, and whose identity records are the only ones the golden record compares (after none
    # too: nothing it reads changed); after several, the scan and a comparison of every record
    identity_since: datetime | None = None
    staging_builds: int | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))

    @property
    def whole_table_tests(self) -> bool:
        """Whether the build runs its whole-table tests (tag ``whole_table``: tests of the tables it rebuilds
        in full every run): on a full rebuild, and on the first build of an ISO week (the previous build's
        as-of date in another week), so at least once a week whichever days run. The other daily builds
        leave them out (the build's ``daily_selector``); DECISIONLOG.md, "Order-independent aggregates,
        whole-table tests weekly, ..." (issue 24)."""
        if self.full_refresh or self.since_as_of is None:
            return True
        return self.since_as_of.isocalendar()[:2] != self.as_of_date.isocalendar()[:2]

    @property
    def selector(self) -> str:
        """The dbt selector of this build: the build's own, or its daily one without whole-table tests."""
        build = get_build(self.layer)
        if build.daily_selector is None or self.whole_table_tests:
            return build.selector
        return build.daily_selector

    @property
    def full_refresh_flag(self) -> bool:
        """Whether dbt runs with ``--full-refresh`` (staging); the core layer gets a var instead."""
        return self.full_refresh and self.layer == "staging"

    def dbt_vars(self) -> dict[str, Any]:
        """The vars the staging models' ``delivered_since`` and the ``identity_input_changed`` macro read
        (none on a full refresh); for the core layer also ``marts_full_rebuild``."""
        rebuild = {"marts_full_rebuild": self.full_refresh} if self.layer == "core" else {}
        if self.full_refresh:
            return rebuild
        since = self.identity_since.isoformat(sep=" ") if self.identity_since else None
        identity = (
            {"incremental_identity_since": since, "incremental_staging_builds": self.staging_builds}
            if self.layer == "core"
            else {}
        )
        return {
            **rebuild,
            "incremental_since_as_of": self.since_as_of.isoformat() if self.since_as_of else None,
            "incremental_files": list(self.late_files),
            "incremental_files_from": self.late_from.isoformat() if self.late_from else None,
            **identity,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": "full refresh" if self.full_refresh else "incremental",
            "reason": self.reason,
            "since_as_of": self.since_as_of.isoformat() if self.since_as_of else None,
            "late_files": len(self.late_files),
            "whole_table_tests": self.whole_table_tests,
        }


def fingerprint(settings: Settings, dbt_vars: dict[str, Any], layer: str = "staging") -> str:
    """A hash of the layer's SQL, macros, seeds and the vars it reads (not the run context, which changes
    with every run: ``customer360.dbt_runner.RUN_CONTEXT_VARS``)."""
    digest = hashlib.sha256()
    root = settings.dbt_project_dir
    for file in project_files(settings, layer):
        digest.update(file.relative_to(root).as_posix().encode())
        digest.update(file.read_bytes())
    stable = {k: v for k, v in dbt_vars.items() if k not in RUN_CONTEXT_VARS}
    digest.update(json.dumps(stable, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def plan_build(settings: Settings, layer: str, as_of_date: date, dbt_vars: dict[str, Any]) -> BuildPlan:
    """Decide between an incremental build and a full refresh of ``layer`` for ``as_of_date``."""
    if layer not in INCREMENTAL_LAYERS:
        return BuildPlan(layer, as_of_date, True, "always rebuilt", "")
    print_ = fingerprint(settings, dbt_vars, layer)

    def full(reason: str) -> BuildPlan:
        return BuildPlan(layer, as_of_date, True, reason, print_)

    if settings.full_refresh:
        return full("asked for (CUSTOMER360_FULL_REFRESH)")
    if settings.target == "spark":
        return full("the Spark target builds in full (docs/spark.md)")
    state = (BUILDS_TABLE, MANIFEST_TABLE, ERASURE_LOG_TABLE, CHANGES_TABLE)
    with stage_connection(settings, pull=state, read_only=True) as con:
        if not has_table(con, BUILDS_TABLE):
            return full("no earlier build recorded")
        previous = con.execute(
            f"select as_of_date, started_at, fingerprint from {BUILDS_TABLE} where layer = ? "
            "order by finished_at desc limit 1",
            [layer],
        ).fetchall()
        if not previous:
            return full("no earlier build recorded")
        since_as_of, since, previous_print = previous[0]
        if previous_print != print_:
            return full(f"the {layer} layer's models, macros, seeds or settings changed since its last build")
        if as_of_date < since_as_of:
            return full(f"backfill: {as_of_date} is before the last build's date {since_as_of}")
        if has_table(con, ERASURE_LOG_TABLE):
            (erasures,) = con.execute(
                f"select count(*) from {ERASURE_LOG_TABLE} where processed_at >= ?", [since]
            ).fetchall()[0]
            if erasures:
                return full(f"{erasures} erasure request(s) processed since the last build")
        staging_builds = None
        if layer == "core":
            (restaged, staging_builds) = con.execute(
                f"select count(*) filter (where full_refresh), count(*) from {BUILDS_TABLE} "
                "where layer = 'staging' and started_at >= ?",
                [since],
            ).fetchall()[0]
            if restaged:
                return full("the staging layer was rebuilt in full since the last build")
            reason = _identity_rebuild_reason(con, since)
            if reason:
                return full(reason)
        replaced = con.execute(
            f"""select count(distinct m.source_file) from {MANIFEST_TABLE} as m
            where m.status = 'loaded' and m.ingested_at >= ? and exists (
                select 1 from {MANIFEST_TABLE} as earlier
                where earlier.channel = m.channel and earlier.source_file = m.source_file
                    and earlier.status = 'loaded' and earlier.ingested_at < ?)""",
            [since, since],
        ).fetchall()[0][0]
        if replaced:
            return full(f"{replaced} landing file(s) reloaded with new content since the last build")
        late_rows = con.execute(
            f"select source_file, min(load_date) from {MANIFEST_TABLE} where status = 'loaded' "
            "and ingested_at >= ? and load_date <= ? group by 1 order by 1",
            [since, since_as_of],
        ).fetchall()
    late = [row[0] for row in late_rows]
    late_from = min((row[1] for row in late_rows), default=None)
    reason = f"rows delivered after {since_as_of}" + (f" and {len(late)} late file(s)" if late else "")
    return BuildPlan(
        layer,
        as_of_date,
        False,
        reason,
        print_,
        since_as_of=since_as_of,
        late_files=late,
        late_from=late_from,
        identity_since=since if layer == "core" else None,
        staging_builds=staging_builds,
    )


def _identity_rebuild_reason(con: Any, since: datetime) -> str | None:
    """Why the core layer cannot follow identity's changes since ``since`` record by record, if it cannot."""
    if not has_table(con, CHANGES_TABLE):
        return "identity's change log (identity.record_changes) is missing"
    (everything,) = con.execute(
        f"select count(*) from {CHANGES_TABLE} where source_record_id is null and changed_at >= ?", [since]
    ).fetchall()[0]
    if everything:
        return "identities were resolved with no earlier answer since the last build"
    return None


def record_build(settings: Settings, plan: BuildPlan, run_id: str) -> None:
    """Remember a successful build: the next plan starts from it. A core build has consumed identity's
    changes logged before it started: they are deleted."""
    if settings.target == "spark":
        return  # every build is a full one there: no plan starts from it (docs/spark.md)
    tables = (BUILDS_TABLE, CHANGES_TABLE) if plan.layer == "core" else (BUILDS_TABLE,)
    with stage_connection(settings, pull=tables, push=tables) as con:
        con.execute(f"create schema if not exists {AUDIT_SCHEMA}")  # a scratch workspace on PostgreSQL
        con.execute(BUILDS_DDL)
        con.execute(
            f"insert into {BUILDS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                plan.layer,
                plan.as_of_date,
                run_id,
                plan.started_at,
                datetime.now(UTC).replace(tzinfo=None),
                plan.full_refresh,
                plan.reason,
                plan.fingerprint,
            ],
        )
        if plan.layer == "core" and has_table(con, CHANGES_TABLE):
            con.execute(f"delete from {CHANGES_TABLE} where changed_at < ?", [plan.started_at])


def project_files(settings: Settings, layer: str = "staging") -> list[Path]:
    """The files the layer's fingerprint covers."""
    root = settings.dbt_project_dir
    found: list[Path] = []
    for relative in get_build(layer).fingerprint_paths:
        path = root / relative
        found += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [file for file in found if file.exists()]
