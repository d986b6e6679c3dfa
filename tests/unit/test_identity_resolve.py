"""identity.resolve end to end on a small warehouse: guards, chains, stable ids, merges, splits, audit."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from customer360.identity import resolve
from customer360.identity.audit import audit_identity, format_audit
from customer360.identity.blocklist import load_blocklist
from customer360.settings import Settings
from customer360.warehouse import connect
from customer360_dev.identity_synthetic import write_input_table
from tests.support.identity_input import contact_record
from tests.support.identity_input import load_records as load
from tests.support.identity_model import install_model, train_model_file

DAY1, DAY2, DAY3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def rec(channel: str, record_id: str, day: int = 1, **fields: object) -> dict[str, object]:
    """A record in the Netherlands unless ``fields`` say otherwise."""
    return contact_record(channel, record_id, day, **{"country_code": "NL", **fields})


def customers(settings: Settings) -> dict[str, str]:
    with connect(settings, read_only=True) as con:
        rows = con.execute(
            "select source_record_id, customer_id from identity.customer_source_xref"
        ).fetchall()
    return dict(rows)


def query(settings: Settings, sql: str) -> list[tuple]:
    with connect(settings, read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory) -> Path:
    """One match model trained on generated records, shared by the tests of this module (training on each
    test's handful of records would learn nothing)."""
    home = tmp_path_factory.mktemp("identity-model")
    return train_model_file(Settings(home=home))


@pytest.fixture
def settings(tmp_path, trained_model) -> Settings:
    settings = Settings(home=tmp_path)
    install_model(settings, trained_model)
    return settings


def test_every_record_once_with_rule_and_contact_points(settings):
    """GIVEN records linked by account id, loyalty id and email WHEN resolved THEN each record appears once in
    the xref with its strongest rule, and contact_points carries the normalised values."""
    load(
        settings,
        [
            rec(
                "crm_contacts",
                "c1",
                1,
                account_id="A1",
                loyalty_id="L1",
                email="j.smith@gmail.com",
                phone="06-12398765",
                first_name="John",
                last_name="Smith",
                birth_date="1980-01-02",
            ),
            rec("web_orders", "o1", 2, account_id="A1", email="jsmith+shop@googlemail.com"),
            rec("pos_transactions", "t1", 3, loyalty_id="L1"),
            rec("marketing_events", "m1", 4, email="j.s.mith@gmail.com"),
        ],
    )
    result = resolve(settings, DAY1, "r1")
    assert (result.records, result.customers, result.new_customers) == (4, 1, 1)
    rows = dict(query(settings, "select source_record_id, match_rule from identity.customer_source_xref"))
    assert rows == {"c1": "account_id", "o1": "account_id", "t1": "loyalty_id", "m1": "email"}
    points = query(
        settings,
        "select email_normalized, phone_e164, name_normalized, name_script from identity.contact_points "
        "where source_record_id = 'c1'",
    )
    assert points == [("jsmith@gmail.com", "+31612398765", "john smith", "latin")]
    customer_id = customers(settings)["c1"]
    assert customer_id.startswith("C") and len(customer_id) == 13


def test_record_versions_are_evidence_and_output_once(settings):
    """GIVEN a CRM contact delivered in two versions (email changed) and a marketing event with the old email
    WHEN resolved THEN all are one customer, the contact appears once in the xref and contact_points holds
    its latest email."""
    load(
        settings,
        [
            rec("crm_contacts", "c1", 1, email="old@ziggo.nl", first_name="Els"),
            rec("crm_contacts", "c1", 20, email="new@ziggo.nl", first_name="Els"),
            rec("marketing_events", "m1", 2, email="old@ziggo.nl"),
        ],
    )
    result = resolve(settings, DAY1, "r1")
    assert (result.records, result.customers) == (2, 1)
    assert query(settings, "select count(*) from identity.customer_source_xref") == [(2,)]
    assert query(
        settings, "select email_normalized from identity.contact_points where source_record_id = 'c1'"
    ) == [("new@ziggo.nl",)]
    rules = dict(query(settings, "select source_record_id, match_rule from identity.customer_source_xref"))
    assert rules == {"c1": "email", "m1": "email"}


def test_chain_by_email_then_phone_is_one_customer(settings):
    """GIVEN A-B sharing an email and B-C sharing a phone WHEN resolved THEN A, B and C are one customer."""
    load(
        settings,
        [
            rec("crm_contacts", "a", 1, email="anna@ziggo.nl"),
            rec("web_orders", "b", 2, email="ANNA@ziggo.nl", phone="+31 6 2398 7651"),
            rec("support_tickets", "c", 3, phone="0623987651"),
        ],
    )
    resolve(settings, DAY1, "r1")
    assert len(set(customers(settings).values())) == 1


def test_blocklisted_email_does_not_merge_two_persons(settings):
    """GIVEN two persons who both use info@bakkerij.nl WHEN resolved THEN they stay two customers."""
    load(
        settings,
        [
            rec("support_tickets", "k1", 1, email="info@bakkerij.nl", full_name="Anna Bakker"),
            rec("support_tickets", "k2", 2, email="info@bakkerij.nl", full_name="Piet Jansen"),
        ],
    )
    result = resolve(settings, DAY1, "r1")
    assert result.customers == 2 and result.edges_by_rule["email"] == 0


def test_phone_shared_by_five_people_does_not_merge_beyond_the_limit(settings):
    """GIVEN five persons with their own email sharing one office phone WHEN resolved (max 2 emails per
    customer) THEN no customer holds more than two persons and the rejections are counted."""
    rows = [
        rec("crm_contacts", f"p{i}", i, email=f"person{i}@ziggo.nl", phone="020 555 1234", first_name=f"P{i}")
        for i in range(1, 6)
    ]
    load(settings, rows)
    result = resolve(settings.with_overrides(max_emails_per_customer=2), DAY1, "r1")
    sizes = [
        n
        for (n,) in query(settings, "select count(*) from identity.customer_source_xref group by customer_id")
    ]
    assert max(sizes) <= 2 and result.customers >= 3
    assert result.rejections_by_guard.get("emails", 0) >= 3


def test_different_birth_dates_block_a_probabilistic_merge(settings):
    """GIVEN two 'Jan de Vries' at the same address with different birth dates WHEN resolved THEN they stay
    apart, while the same name and birth date at another address is merged probabilistically."""
    common = {
        "first_name": "Jan",
        "last_name": "de Vries",
        "street": "Kerkstraat 1",
        "postal_code": "1234 AB",
        "city": "Amsterdam",
    }
    load(
        settings,
        [
            rec("crm_contacts", "father", 1, birth_date="1950-04-04", **common),
            rec("crm_contacts", "son", 2, birth_date="1980-01-02", **common),
            rec(
                "crm_contacts",
                "son-dup",
                3,
                first_name="Jan",
                last_name="de Vries",
                birth_date="1980-01-02",
                city="Utrecht",
            ),
        ],
    )
    result = resolve(settings, DAY1, "r1")
    ids = customers(settings)
    assert ids["father"] != ids["son"]
    assert ids["son"] == ids["son-dup"]
    assert result.accepted_edges_by_rule["probabilistic"] == 1


def test_domain_typo_and_pinyin_swap_are_matched(settings):
    """GIVEN an email with a provider domain typo, and a pinyin name in swapped order at the same address
    WHEN resolved THEN both join the customer: the typo is corrected by the email normaliser (an email link),
    the swapped name is linked by the match model with a probability above the threshold."""
    load(
        settings,
        [
            rec(
                "crm_contacts",
                "c1",
                1,
                email="wang.xiaoming@gmail.com",
                first_name="Xiaoming",
                last_name="Wang",
                street="Main Street 5",
                postal_code="100000",
                city="Beijing",
                country_code="CN",
            ),
            rec("marketing_events", "m1", 2, email="wang.xiaoming@gmial.com"),
            rec(
                "web_orders",
                "o1",
                3,
                full_name="Wang Xiaoming",
                street="Main St 5",
                postal_code="100000",
                city="Beijing",
                country_code="CN",
            ),
        ],
    )
    resolve(settings, DAY1, "r1")
    assert len(set(customers(settings).values())) == 1
    rules = dict(query(settings, "select source_record_id, match_rule from identity.customer_source_xref"))
    assert rules == {"c1": "email", "m1": "email", "o1": "probabilistic"}
    ((score,),) = query(
        settings, "select match_score from identity.customer_source_xref where source_record_id = 'o1'"
    )
    assert settings.match_threshold <= score <= 1


def test_ids_are_stable_across_runs_with_new_records(settings):
    """GIVEN a first run WHEN new records arrive (one for an existing customer, one new person) THEN existing
    ids do not change, the new person gets a new id, and a re-run changes nothing."""
    first = [
        rec("crm_contacts", "c1", 1, email="a@ziggo.nl"),
        rec("crm_contacts", "c2", 2, email="b@ziggo.nl"),
    ]
    load(settings, first)
    resolve(settings, DAY1, "r1")
    before = customers(settings)
    load(
        settings,
        [*first, rec("web_orders", "o1", 5, email="a@ziggo.nl"), rec("web_orders", "o2", 6, email="c@x.nl")],
    )
    result = resolve(settings, DAY2, "r2")
    after = customers(settings)
    assert after["c1"] == before["c1"] and after["c2"] == before["c2"]
    assert after["o1"] == before["c1"] and after["o2"] not in before.values()
    assert (result.new_customers, result.merges, result.splits) == (1, 0, 0)

    again = resolve(settings, DAY2, "r2-retry")
    assert customers(settings) == after
    assert (again.new_customers, again.merges, again.splits) == (0, 0, 0)
    assert query(settings, "select count(*) from identity.customer_merge_history") == [(0,)]


def test_bridge_record_merges_two_customers_and_the_older_id_survives(settings):
    """GIVEN two customers WHEN a new record carries the email of one and the phone of the other THEN they
    merge, the older id survives, and history and alias rows record the merge."""
    base = [
        rec("crm_contacts", "old", 1, email="x@ziggo.nl"),
        rec("web_orders", "o-old", 2, email="x@ziggo.nl"),
        rec("web_orders", "o-old2", 3, email="x@ziggo.nl"),
    ]
    load(settings, base)
    resolve(settings, DAY1, "r1")
    older = customers(settings)["old"]
    later = [
        *base,
        rec("crm_contacts", "new1", 10, phone="0623987651"),
        rec("crm_contacts", "new2", 11, phone="0623987651"),
    ]
    load(settings, later)
    resolve(settings, DAY2, "r2")
    younger = customers(settings)["new1"]
    assert younger != older
    # The bridge arrives: it holds the younger customer's majority of records, but the older id survives.
    load(settings, [*later, rec("support_tickets", "bridge", 12, email="x@ziggo.nl", phone="06-23987651")])
    result = resolve(settings, DAY3, "r3")
    assert result.merges == 1
    assert set(customers(settings).values()) == {older}
    history = query(
        settings,
        "select change_type, old_customer_id, new_customer_id, run_id, changed_on "
        "from identity.customer_merge_history",
    )
    assert history == [("merge", younger, older, "r3", DAY3)]
    assert query(settings, "select * from identity.customer_id_aliases") == [(younger, older)]
    assert "linked by" in query(settings, "select reason from identity.customer_merge_history")[0][0]


def test_aliases_chain_resolve_to_the_survivor(settings):
    """GIVEN a merged into b WHEN b is later merged into c THEN both a and b alias directly to c."""
    settings = settings.with_overrides(max_emails_per_customer=5)
    rows = [rec("crm_contacts", "c", 1, email="c@x.nl")]
    load(settings, rows)
    resolve(settings, DAY1, "r1")
    rows += [rec("crm_contacts", "b", 2, email="b@x.nl")]
    load(settings, rows)
    resolve(settings, DAY2, "r2")
    rows += [rec("crm_contacts", "a", 3, email="a@x.nl")]
    load(settings, rows)
    resolve(settings, DAY3, "r3")
    ids = customers(settings)
    rows += [rec("web_orders", "ab", 4, email="a@x.nl", phone="0623987651"),
             rec("web_orders", "ba", 5, email="b@x.nl", phone="0623987651")]  # fmt: skip
    load(settings, rows)
    resolve(settings, date(2026, 3, 4), "r4")  # a merges into the older b
    rows += [
        rec("web_orders", "bc", 6, email="b@x.nl", account_id="Z9"),
        rec("web_orders", "cb", 7, email="c@x.nl", account_id="Z9"),
    ]
    load(settings, rows)
    resolve(settings, date(2026, 3, 5), "r5")  # b merges into the older c
    aliases = dict(query(settings, "select alias_customer_id, customer_id from identity.customer_id_aliases"))
    assert aliases == {ids["a"]: ids["c"], ids["b"]: ids["c"]}
    assert set(customers(settings).values()) == {ids["c"]}


def test_rule_change_undoes_a_bad_merge_and_records_a_split(settings):
    """GIVEN two persons merged through a shared family email WHEN the email is blocklisted and the run
    repeated THEN the customer splits, the larger part keeps the id, and the split names the rule change."""
    rows = [
        rec("crm_contacts", "anna", 1, email="family@ziggo.nl", phone="0623987651", first_name="Anna"),
        rec("web_orders", "anna-o", 2, phone="06-23987651"),
        rec("web_orders", "anna-o2", 3, phone="06-23987651"),
        rec("crm_contacts", "piet", 4, email="family@ziggo.nl", phone="0631987652", first_name="Piet"),
    ]
    load(settings, rows)
    first = resolve(settings, DAY1, "r1")
    merged = customers(settings)
    assert first.customers == 1
    stricter = load_blocklist().with_additions(role_email_local_parts=["family"])
    result = resolve(settings, DAY2, "r2", blocklist=stricter)
    ids = customers(settings)
    assert result.splits == 1 and result.ruleset_changed
    assert ids["anna"] == merged["anna"] and ids["piet"] != merged["piet"]
    ((change_type, old, new, reason),) = query(
        settings,
        "select change_type, old_customer_id, new_customer_id, reason from identity.customer_merge_history",
    )
    assert (change_type, old, new) == ("split", merged["anna"], ids["piet"])
    assert first.ruleset_hash in reason and result.ruleset_hash in reason
    runs = query(
        settings, "select run_id, ruleset_changed from identity.resolution_runs order by run_sequence"
    )
    assert runs == [("r1", False), ("r2", True)]


def test_audit_shows_largest_customer_its_bridge_and_rejections(settings):
    """GIVEN a customer held together by one shared email and a guard rejection WHEN audited THEN the audit
    lists its records, names the email as the bridge, and reports the rejection."""
    rows = [
        rec("crm_contacts", "a1", 1, phone="0612398765", email="fam@ziggo.nl", birth_date="1970-01-01"),
        rec("web_orders", "a2", 2, phone="06-12398765"),
        rec("crm_contacts", "b1", 3, phone="0687159243", email="fam@ziggo.nl"),
        rec("web_orders", "b2", 4, phone="06-87159243"),
        rec("crm_contacts", "z1", 5, phone="0623987651", birth_date="1971-01-01"),
        rec("crm_contacts", "z2", 6, phone="0623987651", birth_date="1972-02-02"),
    ]
    load(settings, rows)
    strict = settings.with_overrides(identity_max_birth_dates_per_customer=1)
    resolve(strict, DAY1, "r1")
    report = audit_identity(strict, top=5)
    largest = report.clusters[0]
    assert largest.record_count == 4
    assert largest.bridges[0].label == "email=fam@ziggo.nl" and largest.bridges[0].parts == [2, 2]
    assert report.rejections_by_guard == {"birth_dates": 1}
    assert report.rejections[0]["match_key"] == "+31623987651"
    assert "bridge (key) email=fam@ziggo.nl" in format_audit(report)


def test_failed_input_leaves_a_clear_error(settings):
    """GIVEN a warehouse without the input table WHEN resolving THEN the error says what to build first."""
    with connect(settings):
        pass
    with pytest.raises(LookupError, match="int_contact_records_unioned"):
        resolve(settings, DAY1, "r1")


def test_resolution_writes_nothing_when_it_fails_midway(settings, monkeypatch):
    """GIVEN a previous successful run WHEN a later run fails while writing THEN the previous state stays."""
    load(settings, [rec("crm_contacts", "c1", 1, email="a@x.nl")])
    resolve(settings, DAY1, "r1")
    before = customers(settings)
    load(
        settings, [rec("crm_contacts", "c1", 1, email="a@x.nl"), rec("crm_contacts", "c2", 2, email="b@x.nl")]
    )
    import customer360.identity.resolution as resolution

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(resolution, "_write_contact_points", broken)
    with pytest.raises(RuntimeError):
        resolve(settings, DAY2, "r2")
    assert customers(settings) == before
    assert query(settings, "select count(*) from identity.customer_ids") == [(1,)]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from identity.resolution_runs").fetchall() == [(1,)]


def test_given_a_trained_model_when_the_same_records_are_scored_twice_then_the_edges_are_identical(
    tmp_path, trained_model
):
    """GIVEN generated records and the trained model WHEN the probabilistic edges are computed twice THEN
    they are identical, pair for pair and score for score (the model is a fixed file: same records, same
    answer)."""
    import numpy as np

    from customer360.identity import probabilistic
    from customer360.identity.clustering import cluster_records
    from customer360.identity.deterministic import deterministic_edges
    from customer360.identity.model_store import load_model
    from customer360.identity.records import guard_codes, read_records
    from customer360.identity.rules import guards_for
    from customer360_dev.identity_synthetic import synthetic_records

    settings = Settings(home=tmp_path)
    install_model(settings, trained_model)
    model = load_model(settings)
    records, _ = synthetic_records(2000, seed=5)
    with connect(settings) as con:
        write_input_table(con, records)
        rows = read_records(con, settings.default_phone_region, load_blocklist())
        first = cluster_records(
            rows.num_rows, deterministic_edges(rows), guard_codes(rows), guards_for(settings)
        )
        once, stats = probabilistic.probabilistic_edges(
            con, rows, first.labels, settings.match_threshold, model
        )
        again, _ = probabilistic.probabilistic_edges(con, rows, first.labels, settings.match_threshold, model)
    assert stats.candidate_pairs > 50 and len(once) > 0
    assert np.array_equal(once.left, again.left) and np.array_equal(once.right, again.right)
    assert np.array_equal(once.score, again.score)
