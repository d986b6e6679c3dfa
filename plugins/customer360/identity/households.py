"""Guards on shared contact points: values held by too many people, and households.

An email or phone is evidence that two records are one person only while one person holds it. Per value, over
the rows holding it (``email_key`` / ``phone_key``):

* **shared value**: held by more than ``limit`` people (``settings.identity_max_people_per_value``; people
  counted as the most distinct names, account ids or loyalty ids among its holders): an office switchboard, a
  shop's own number typed in at the till. It links nothing: the key is cleared, as
  for a blocklisted value (the record keeps its contact point in ``contact_points``).
* **household value**: held by two records that *conflict*: names that cannot be one person's (in one script:
  given names with Jaro-Winkler below 0.8, not an initial of the other nor one inside the other, and not the
  names swapped) and two different birth dates, or names in two scripts (``王芳`` and ``Fang Wang`` are not
  compared) and birth dates that are not a typo of one another; and every phone whose last 8 digits are a
  household phone's (the same line written with or without its country, or in no region at all). The value
  then makes no deterministic link, and a probabilistic edge between two records sharing it stands only when
  both are named and their names do not conflict: a nameless receipt with the family phone belongs to nobody
  in particular, and neither do two records whose names conflict (without birth dates to tell, a name that
  differs is the other member).
* **conflicting names**: a model link between two records whose names conflict and whose birth dates are both
  known and no typo of one another never stands, household value or not (a family shares a surname, an
  address and often a phone, and the model may score that high). With a birth date missing, a different
  given name is left to the model's score unless the two records share a household value (a record whose
  given name a typist replaced looks the same, and nothing but a birth date or a shared line tells them
  apart). The records that share a household value are recorded in
  ``identity.household_keys``; the ``customer_households`` mart groups the customers that hold one.

Both are properties of a value over all its holders, and every holder of a value a changed row holds is
resolved again in an incremental run, so they are the same as in a run over every record.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HOUSEHOLD_KEYS_TABLE = "identity.household_keys"
KEY_COLUMNS = {"email": "email_key", "phone": "phone_key"}
GIVEN_NAME_SIMILARITY = 0.80

# Two names that cannot be one person's: same script, given names neither alike, nor an initial of the other,
# nor one inside the other (``liz`` / ``elizabeth``, ``hans`` / ``johannes``), and not the two names swapped
# (``Sun Yang`` / ``Yang Sun``). A shared family name does not make two given names alike: ``Julia Bernard``
# and ``Mila Bernard`` conflict. A given name equal to its own record's family name (``Ryan Ryan``) is a field
# filled twice, not a given name: it conflicts with nothing.
NAME_CONFLICT_SQL = f"""(
    a.given_name is not null and b.given_name is not null and a.name_script = b.name_script
    and a.given_name is distinct from a.surname and b.given_name is distinct from b.surname
    and jaro_winkler_similarity(a.given_name, b.given_name) < {GIVEN_NAME_SIMILARITY}
    and not ((length(a.given_name) = 1 or length(b.given_name) = 1)
        and left(a.given_name, 1) = left(b.given_name, 1))
    and not (least(length(a.given_name), length(b.given_name)) >= 3
        and (contains(a.given_name, b.given_name) or contains(b.given_name, a.given_name)))
    and not (coalesce(jaro_winkler_similarity(a.given_name, b.surname), 0) >= {GIVEN_NAME_SIMILARITY}
        and coalesce(jaro_winkler_similarity(a.surname, b.given_name), 0) >= {GIVEN_NAME_SIMILARITY})
)"""
# Two birth dates that are not a typo of one another: more than one of day, month and year differ, and not
# day and month transposed.
BIRTH_DATES_APART_SQL = """(
    (case when year(a.birth_date) = year(b.birth_date) then 1 else 0 end
        + case when month(a.birth_date) = month(b.birth_date) then 1 else 0 end
        + case when day(a.birth_date) = day(b.birth_date) then 1 else 0 end) < 2
    and not (year(a.birth_date) = year(b.birth_date) and month(a.birth_date) = day(b.birth_date)
        and day(a.birth_date) = month(b.birth_date))
)"""
# Two records of different people: names in conflict and two different birth dates; or names in two scripts
# (``王芳`` and ``Fang Wang`` cannot be compared) and birth dates that are not a typo of one another.
CONFLICT_SQL = f"""(
    ({NAME_CONFLICT_SQL} and a.birth_date <> b.birth_date)
    or (a.name_script <> b.name_script and {BIRTH_DATES_APART_SQL})
)"""


def classify_shared_values(records: pa.Table, limit: int) -> tuple[pa.Table, pa.Table]:
    """Clear shared values from ``email_key``/``phone_key``; return the records and the household values
    (``identifier_type, identifier, row``: one row per holder of a household value)."""
    con = duckdb.connect()
    named = pc.fill_null(records.column("name_is_matchable").combine_chunks(), False)
    null = pa.scalar(None, pa.string())
    con.register(
        "holders",
        pa.table(
            {
                "row": pa.array(np.arange(records.num_rows, dtype=np.int64)),
                "email_key": records.column("email_key"),
                "phone_key": records.column("phone_key"),
                "given_name": pc.if_else(named, records.column("given_name").combine_chunks(), null),
                "surname": pc.if_else(named, records.column("surname").combine_chunks(), null),
                "name_sorted": pc.if_else(named, records.column("name_sorted").combine_chunks(), null),
                "name_script": records.column("name_script"),
                "birth_date": records.column("birth_date"),
                "account_key": records.column("account_key"),
                "loyalty_key": records.column("loyalty_key"),
                "line": _phone_line(records),
            }
        ),
    )
    columns = {name: records.column(name) for name in records.column_names}
    households = []
    try:
        for kind, column in KEY_COLUMNS.items():
            # each count is a lower bound on the people holding the value (one account, one loyalty id and
            # about one name per person)
            people = (
                "greatest(count(distinct name_sorted), count(distinct account_key), "
                "count(distinct loyalty_key))"
            )
            shared = con.sql(
                f"""select {column} as value from holders where {column} is not null and {int(limit)} > 0
                group by {column} having {people} > {int(limit)}"""
            ).to_arrow_table()
            con.register("shared", shared)
            shared = shared.column("value")
            if len(shared):
                cleared = pc.fill_null(pc.is_in(columns[column], value_set=shared.combine_chunks()), False)
                columns[column] = pc.if_else(cleared, null, columns[column])
            households.append(
                con.sql(
                    f"""with
                    named as (
                        select {column} as value, row, given_name, surname, name_sorted, name_script,
                            birth_date
                        from holders
                        where {column} is not null and name_sorted is not null and birth_date is not null
                            and {column} not in (select value from shared)
                    ),
                    conflicting as (
                        select distinct a.value
                        from named as a join named as b on a.value = b.value and a.row < b.row
                        where {CONFLICT_SQL}
                    ),
                    household as (
                        select value from conflicting
                        {_SAME_LINE if kind == "phone" else ""}
                    )
                    select '{kind}' as identifier_type, h.{column} as identifier, h.row
                    from holders as h join household as v on v.value = h.{column}
                    where h.{column} not in (select value from shared)
                    order by h.row"""
                ).to_arrow_table()
            )
    finally:
        con.close()
    return pa.table(columns), pa.concat_tables(households)


# A phone is one line however it is written: the family's landline written nationally at the till (read in
# the wrong region, or kept as digits) is the same household value as the number with its country code.
PHONE_LINE_DIGITS = 8
_SAME_LINE = """union
                        select distinct h.phone_key from holders as h
                        where h.phone_key is not null and h.line in (
                            select x.line from holders as x
                            where x.line is not null and x.phone_key in (select value from conflicting))"""


def _phone_line(records: pa.Table) -> pa.Array:
    """The last ``PHONE_LINE_DIGITS`` digits of each record's phone as written (null when shorter)."""
    digits = pc.fill_null(records.column("phone_digits").combine_chunks(), "")
    long_enough = pc.greater_equal(pc.utf8_length(digits), PHONE_LINE_DIGITS)
    line = pc.utf8_slice_codeunits(digits, -PHONE_LINE_DIGITS)
    return pc.if_else(long_enough, line, pa.scalar(None, pa.string()))


def household_free(records: pa.Table, households: pa.Table) -> pa.Table:
    """``records`` with the household values cleared from the deterministic keys (Splink still compares the
    values: ``household_key_email`` / ``household_key_phone`` keep them for the edge filter)."""
    columns = {name: records.column(name) for name in records.column_names}
    null = pa.scalar(None, pa.string())
    for kind, column in KEY_COLUMNS.items():
        values = households.filter(pc.equal(households.column("identifier_type"), kind)).column("identifier")
        hit = pc.fill_null(pc.is_in(columns[column], value_set=values.combine_chunks()), False)
        columns[column] = pc.if_else(hit, null, columns[column])
    return pa.table(columns)


def household_edge_mask(
    records: pa.Table, households: pa.Table, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """For probabilistic edges ``(left[i], right[i])``: True where the edge stands. An edge between two
    records whose names conflict and whose birth dates are known and no typo of one another never stands
    (two members of one family share a surname, an address and often a phone: the model may score them high,
    but ``Pieter`` and ``Bram`` are two people); an edge between two records that share a household value
    stands only when both are named and their names do not conflict or their birth dates are equal."""
    if len(left) == 0:
        return np.ones(len(left), dtype=bool)
    named = pc.fill_null(records.column("name_is_matchable").combine_chunks(), False)
    null = pa.scalar(None, pa.string())
    people = pa.table(
        {
            "given_name": pc.if_else(named, records.column("given_name").combine_chunks(), null),
            "surname": pc.if_else(named, records.column("surname").combine_chunks(), null),
            "name_sorted": pc.if_else(named, records.column("name_sorted").combine_chunks(), null),
            "name_script": records.column("name_script").combine_chunks(),
            "birth_date": records.column("birth_date").combine_chunks(),
        }
    )
    # Both sides of every edge side by side (gathered by position, not joined: the planner cannot know the
    # sizes of Arrow tables and could pair every record with every other before filtering).
    con = duckdb.connect()
    con.register(
        "left_people",
        people.take(pa.array(left, pa.int64())).append_column("i", pa.array(np.arange(len(left)))),
    )
    con.register("right_people", people.take(pa.array(right, pa.int64())))
    con.register("edges", pa.table({"i": np.arange(len(left)), "l": left, "r": right}))
    con.register("hh", households)
    try:
        sides = con.sql(
            f"""select a.i,
                {NAME_CONFLICT_SQL} and {BIRTH_DATES_APART_SQL} as conflict,
                {NAME_CONFLICT_SQL} and coalesce(a.birth_date <> b.birth_date, true) as conflict_unknown,
                a.name_sorted is null or b.name_sorted is null as unnamed
            from left_people as a positional join right_people as b order by a.i"""
        ).to_arrow_table()
        shared = (
            con.sql(
                """with
                left_values as materialized (
                    select e.i, e.r, x.identifier_type, x.identifier
                    from edges as e join hh as x on x.row = e.l
                )
                select distinct v.i
                from left_values as v join hh as y on y.row = v.r and y.identifier_type = v.identifier_type
                    and y.identifier = v.identifier"""
            )
            .to_arrow_table()
            .column("i")
            .to_numpy()
        )
    finally:
        con.close()
    conflict = np.asarray(pc.fill_null(sides.column("conflict"), False).to_numpy(zero_copy_only=False), bool)
    unknown = np.asarray(
        pc.fill_null(sides.column("conflict_unknown"), False).to_numpy(zero_copy_only=False), bool
    )
    unnamed = np.asarray(pc.fill_null(sides.column("unnamed"), True).to_numpy(zero_copy_only=False), bool)
    dropped = np.flatnonzero(conflict)
    in_household = np.zeros(len(left), dtype=bool)
    in_household[shared.astype(np.int64)] = True
    dropped = np.union1d(dropped, np.flatnonzero(in_household & (unnamed | unknown)))
    keep = np.ones(len(left), dtype=bool)
    keep[dropped] = False
    return keep
