"""The ceiling of a set that has none of its own (the project generator), from the records staged."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from customer360_dev.identity_eval.ceiling import staged_ceiling_recall

# source_record_id, account_id, email, phone, first_name, last_name
STAGED = [
    ("r1", "A1", "Jan.Jansen@Example.nl ", None, "Jan", "Jansen"),
    ("r2", None, "jan.jansen@example.nl", "+31 6 1234 5678", None, None),
    ("r3", None, None, "06-12345678", None, None),
    ("r4", None, "jn.jansen@example.nl", None, None, None),
    ("r5", None, None, None, "Jansen", "Jan"),
    ("r6", None, "piet@example.nl", None, "Piet", "Bakker"),
]
# source records per identity record (r6 was collapsed from two source records in dbt)
MEMBERS = [("r1", "r1"), ("r2", "r2"), ("r3", "r3"), ("r4", "r4"), ("r5", "r5"), ("s6a", "r6"), ("s6b", "r6")]
PERSONS = {"r1": "P1", "r2": "P1", "r3": "P1", "r4": "P1", "r5": "P1", "s6a": "P2", "s6b": "P2"}


@pytest.fixture
def staged_set(tmp_path):
    warehouse = tmp_path / "customer360.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema intermediate")
    con.execute(
        """create table intermediate.int_contact_records_unioned (
            source_channel varchar, source_record_id varchar, observed_at timestamp, account_id varchar,
            loyalty_id varchar, email varchar, phone varchar, first_name varchar, last_name varchar,
            full_name varchar, birth_date date, street varchar, postal_code varchar, city varchar,
            country_code varchar)"""
    )
    for record, account, email, phone, given, family in STAGED:
        con.execute(
            "insert into intermediate.int_contact_records_unioned values "
            "('crm', ?, timestamp '2026-01-01', ?, null, ?, ?, ?, ?, null, null, null, null, null, 'NL')",
            [record, account, email, phone, given, family],
        )
    con.execute(
        "create table intermediate.int_contact_record_members "
        "(source_channel varchar, source_record_id varchar, identity_record_id varchar)"
    )
    con.executemany("insert into intermediate.int_contact_record_members values ('crm', ?, ?)", MEMBERS)
    con.close()
    truth = tmp_path / "source_records.parquet"
    pd.DataFrame(
        {
            "source_channel": "crm_contacts",
            "source_record_id": list(PERSONS),
            "person_id": list(PERSONS.values()),
        }
    ).to_parquet(truth, index=False)
    return warehouse, truth


def test_given_staged_records_when_the_ceiling_is_computed_then_exact_evidence_and_dbt_collapses_count(
    staged_set,
):
    """GIVEN five records of one person, of which r1-r2 share an e-mail (case and spaces apart), r2-r3 one
    phone (with and without its country), r5 the name of r1 in swapped order and r4 only a mistyped e-mail,
    and two source records of another person that dbt collapsed into one identity record WHEN the ceiling is
    computed THEN r1, r2, r3 and r5 are one component (6 pairs), r4 is alone (a typo is no evidence) and the
    collapsed pair counts: 7 of the 11 true pairs."""
    warehouse, truth = staged_set
    assert staged_ceiling_recall(warehouse, truth) == pytest.approx(7 / 11)
