"""What leaves for a destination, checked again at send time.

Members and changes are computed from the snapshot current when the run started; the rows a destination
receives are read from the snapshot current *when they are sent* (attached as ``send_snap``), joined on the
pseudonymous key and filtered by the audience's consent predicate again. A customer erased in between
(erasure rewrites every kept snapshot without the person), who unsubscribed, lost consent or reached the
contact cap is therefore not sent, even from a batch computed before. Exits carry the key alone.

Contact fields come from the restricted PII model (``restricted.dim_customer_pii``, attached as ``pii``)
and only for destinations with ``allow_contact_fields: true``; every other destination gets the
pseudonymous ``customer_key`` and the audience's mart fields, nothing else.
"""

from __future__ import annotations

from typing import Any

from customer360.activation.audiences import ATTRIBUTES_MART, PII_MODEL, Audience, Destination
from customer360.activation.members import CHANGES, MEMBERS, consent_sql, quote

SEND_SNAPSHOT = "send_snap"
PII = "pii"


def sends_contact_fields(audience: Audience, destination: Destination) -> bool:
    return bool(audience.contact_fields) and destination.allow_contact_fields


def _columns(audience: Audience, contact: bool) -> tuple[str, str]:
    """Select list and join of the outgoing columns: key, mart fields, then contact fields if allowed."""
    columns = ["a.customer_key", *(f"a.{quote(f)}" for f in audience.fields)]
    join = ""
    if contact:
        columns.extend(f"p.{quote(f)}" for f in audience.contact_fields)
        join = f"left join {PII}.restricted.{quote(PII_MODEL)} as p on p.customer_key = a.customer_key"
    return ", ".join(columns), join


def members_sql(audience: Audience, contact: bool) -> tuple[str, list[Any]]:
    """The audience's members that may still be sent, one typed column per field, ordered by key."""
    select, join = _columns(audience, contact)
    sql = f"""select {select}
        from {MEMBERS} as m
        join {SEND_SNAPSHOT}.main.{quote(ATTRIBUTES_MART)} as a on a.customer_key = m.customer_key
        {join}
        where m.audience = ? and ({consent_sql(audience, "a")})
        order by a.customer_key"""
    return sql, [audience.name]


def contact_json_sql(audience: Audience, contact: bool) -> str:
    if not contact:
        return "cast(null as json)"
    pairs = ", ".join(f"'{f}', p.{quote(f)}" for f in audience.contact_fields)
    return f"json_object({pairs})"


def changes_sql(audience: Audience, contact: bool) -> tuple[str, list[Any]]:
    """The day's changes that may be sent: exits always (the key alone), entries and changes only for
    customers still present and consenting in the snapshot current now. Ordered for stable batches."""
    join = (
        f"left join {PII}.restricted.{quote(PII_MODEL)} as p on p.customer_key = c.customer_key"
        if contact
        else ""
    )
    sql = f"""select c.customer_key, c.change,
            case when c.change = 'exited' then null else c.fields end as fields,
            case when c.change = 'exited' then null else {contact_json_sql(audience, contact)} end as contact
        from {CHANGES} as c
        left join {SEND_SNAPSHOT}.main.{quote(ATTRIBUTES_MART)} as a on a.customer_key = c.customer_key
        {join}
        where c.audience = ?
            and (c.change = 'exited' or (a.customer_key is not null and ({consent_sql(audience, "a")})))
        order by case c.change when 'exited' then 0 when 'changed' then 1 else 2 end, c.customer_key"""
    return sql, [audience.name]
