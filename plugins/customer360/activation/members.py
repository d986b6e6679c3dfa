"""Audience members and the day's changes: each audience's structured filter applied to the published mart.

The mart ``customer_audience_attributes`` (dbt, analytics build) holds every attribute an audience may filter
on; this module turns an audience's ``where`` list into a predicate over it, with every value bound as a
parameter and every column name checked against the mart's contract first (``audiences.py``). A member
is a customer who matches the filter *and* may be sent: not deleted, consented to the audience's channel,
and (unless the audience opts out) below the contact cap. ``audience_members`` keeps the members of each
run date; ``audience_changes`` the members who entered, exited or changed (their fields differ) against the
audience's previous run date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from customer360.activation.audiences import ATTRIBUTES_MART, Audience, AudienceFile, Condition

if TYPE_CHECKING:
    import duckdb

SNAPSHOT = "snap"  # the published snapshot's attach name
MEMBERS = "_members"  # this run's members (temp table)
CHANGES = "_changes"  # this run's changes (temp table)
_COMPARISONS = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def condition_sql(condition: Condition, alias: str) -> tuple[str, list[Any]]:
    """One condition as SQL with ``?`` placeholders. ``ne`` and ``not_in`` keep rows where the column is null
    (a customer without a churn band is not in the band 'high')."""
    column = f"{alias}.{quote(condition.field)}"
    if condition.op == "is_null":
        return f"{column} is null", []
    if condition.op == "not_null":
        return f"{column} is not null", []
    if condition.op in ("in", "not_in"):
        values = list(condition.value)
        marks = ", ".join("?" for _ in values)
        if condition.op == "in":
            return f"{column} in ({marks})", values
        return f"({column} is null or {column} not in ({marks}))", values
    if condition.op == "ne":
        return f"{column} is distinct from ?", [condition.value]
    return f"{column} {_COMPARISONS[condition.op]} ?", [condition.value]


def filter_sql(audience: Audience, alias: str) -> tuple[str, list[Any]]:
    parts, params = [], []
    for condition in audience.where:
        sql, values = condition_sql(condition, alias)
        parts.append(sql)
        params.extend(values)
    return " and ".join(parts) or "true", params


def consent_sql(audience: Audience, alias: str) -> str:
    """Whether a customer may be sent for this audience: the consent channel's flag (opted in, not
    unsubscribed, a valid address), not deleted, and below the contact cap unless the audience opts out."""
    parts = [f"not coalesce({alias}.is_deleted, false)"]
    if audience.consent != "none":
        parts.append(f"coalesce({alias}.can_contact_{audience.consent}, false)")
    if audience.respect_contact_cap:
        parts.append(f"not coalesce({alias}.is_at_contact_cap, false)")
    return " and ".join(parts)


def fields_json_sql(audience: Audience, alias: str) -> str:
    pairs = ", ".join(f"'{name}', {alias}.{quote(name)}" for name in audience.fields)
    return f"json_object({pairs})"


@dataclass
class AudienceCounts:
    audience: str
    matched: int = 0
    members: int = 0
    entered: int = 0
    exited: int = 0
    changed: int = 0
    excluded_no_consent: int = 0
    excluded_contact_cap: int = 0
    excluded_deleted: int = 0
    previous_run_date: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def compute(
    con: duckdb.DuckDBPyConnection, audiences: AudienceFile, run_date: date
) -> dict[str, AudienceCounts]:
    """Fill the temp tables ``_members`` and ``_changes`` for every audience; return counts per audience.

    The previous run of an audience is its latest run date before ``run_date`` in the state, so a rerun
    of a date computes the same changes, and a backfill of an older date compares with the date before it.
    """
    mart = f"{SNAPSHOT}.main.{quote(ATTRIBUTES_MART)}"
    con.execute(
        f"create or replace temp table {MEMBERS} (audience varchar, customer_key varchar, fields json, "
        "fields_hash varchar)"
    )
    con.execute(
        f"create or replace temp table {CHANGES} (audience varchar, customer_key varchar, change varchar, "
        "fields json)"
    )
    counts: dict[str, AudienceCounts] = {}
    for audience in audiences.audiences:
        where, params = filter_sql(audience, "a")
        consent = consent_sql(audience, "a")
        con.execute(
            f"insert into {MEMBERS} select ?, a.customer_key, {fields_json_sql(audience, 'a')}, "
            f"md5(cast({fields_json_sql(audience, 'a')} as varchar)) from {mart} as a "
            f"where ({where}) and ({consent})",
            [audience.name, *params],
        )
        deleted = "coalesce(a.is_deleted, false)"
        consented = (
            f"coalesce(a.can_contact_{audience.consent}, false)" if audience.consent != "none" else "true"
        )
        capped = "coalesce(a.is_at_contact_cap, false)" if audience.respect_contact_cap else "false"
        matched, no_consent, at_cap, deleted_count = con.execute(
            f"""select count(*),
                count(*) filter (where not {deleted} and not {consented}),
                count(*) filter (where not {deleted} and {consented} and {capped}),
                count(*) filter (where {deleted})
            from {mart} as a where ({where})""",
            params,
        ).fetchone()
        previous = con.execute(
            "select max(run_date) from state.audience_runs where audience = ? and run_date < ?",
            [audience.name, run_date],
        ).fetchone()[0]
        con.execute(
            """create or replace temp table _previous as
            select customer_key, fields, fields_hash from state.audience_members
            where audience = ? and run_date = ?""",
            [audience.name, previous],
        )
        con.execute(
            f"""insert into {CHANGES}
            select ?, m.customer_key, 'entered', m.fields
            from {MEMBERS} as m anti join _previous as p on m.customer_key = p.customer_key
            where m.audience = ?
            union all
            select ?, p.customer_key, 'exited', null
            from _previous as p anti join (select * from {MEMBERS} where audience = ?) as m
                on m.customer_key = p.customer_key
            union all
            select ?, m.customer_key, 'changed', m.fields
            from {MEMBERS} as m join _previous as p on m.customer_key = p.customer_key
            where m.audience = ? and m.fields_hash <> p.fields_hash""",
            [audience.name] * 6,
        )
        members = con.execute(
            f"select count(*) from {MEMBERS} where audience = ?", [audience.name]
        ).fetchone()
        change_counts = dict(
            con.execute(
                f"select change, count(*) from {CHANGES} where audience = ? group by 1", [audience.name]
            ).fetchall()
        )
        counts[audience.name] = AudienceCounts(
            audience=audience.name,
            matched=matched,
            members=members[0],
            entered=change_counts.get("entered", 0),
            exited=change_counts.get("exited", 0),
            changed=change_counts.get("changed", 0),
            excluded_no_consent=no_consent,
            excluded_contact_cap=at_cap,
            excluded_deleted=deleted_count,
            previous_run_date=previous.isoformat() if previous else None,
        )
    con.execute("drop table if exists _previous")
    return counts


def save(
    con: duckdb.DuckDBPyConnection,
    audiences: AudienceFile,
    counts: dict[str, AudienceCounts],
    run_date: date,
    run_id: str,
) -> None:
    """Replace the run date's rows of every audience in the state (a rerun overwrites its own date)."""
    from datetime import UTC, datetime

    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("begin transaction")
    try:
        for table in ("audience_runs", "audience_members", "audience_changes"):
            con.execute(f"delete from state.{table} where run_date = ?", [run_date])
        con.execute(
            f"insert into state.audience_members select ?, audience, customer_key, fields, fields_hash, ? "
            f"from {MEMBERS}",
            [run_date, run_id],
        )
        con.execute(
            "insert into state.audience_changes "
            f"select ?, audience, customer_key, change, fields, ? from {CHANGES}",
            [run_date, run_id],
        )
        for c in counts.values():
            con.execute(
                "insert into state.audience_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_date,
                    c.audience,
                    run_id,
                    audiences.version,
                    c.matched,
                    c.members,
                    c.entered,
                    c.exited,
                    c.changed,
                    c.excluded_no_consent,
                    c.excluded_contact_cap,
                    c.excluded_deleted,
                    now,
                ],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
