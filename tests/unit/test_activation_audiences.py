"""The audience file: the shipped one is valid; every mistake is reported with file, line, audience, key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from customer360.activation.audiences import AudienceFileError, load_audiences
from customer360.activation.members import condition_sql, consent_sql
from customer360.settings import PROJECT_DIR

DBT = PROJECT_DIR / "dbt_project"

GOOD = """\
version: 3
destinations:
  files:
    type: file
  crm:
    type: postgres
    allow_contact_fields: true
audiences:
  - name: churn_watch
    description: Buyers likely to churn.
    where:
      - {field: churn_band, op: in, value: [medium, high]}
      - {field: predicted_clv_12m, op: gte, value: 10}
    fields: [churn_band, value_tier]
    contact_fields: [email]
    consent: email
    destinations: [files, crm]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "audiences.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(AudienceFileError) as caught:
        load_audiences(_write(tmp_path, text), DBT)
    return str(caught.value)


def test_given_the_shipped_audience_file_when_loaded_then_it_is_valid_and_versioned():
    audiences = load_audiences(PROJECT_DIR / "config" / "audiences.yml", DBT)
    assert audiences.version >= 1
    assert {a.name for a in audiences.audiences} >= {"cross_sell_email", "churn_watch"}
    assert {d.type for d in audiences.destinations.values()} == {"file", "webhook", "postgres"}
    for audience in audiences.audiences:
        assert audience.where and audience.destinations and audience.consent in ("email", "sms", "none")


def test_given_a_valid_file_when_loaded_then_conditions_fields_and_destinations_are_read(tmp_path):
    audiences = load_audiences(_write(tmp_path, GOOD), DBT)
    churn = audiences.audience("churn_watch")
    assert audiences.version == 3
    assert [(c.field, c.op, c.value) for c in churn.where] == [
        ("churn_band", "in", ("medium", "high")),
        ("predicted_clv_12m", "gte", 10),
    ]
    assert churn.fields == ("churn_band", "value_tier") and churn.contact_fields == ("email",)
    assert audiences.destinations["crm"].allow_contact_fields
    assert not audiences.destinations["files"].allow_contact_fields


def test_given_an_unknown_column_and_a_bad_value_when_loaded_then_each_error_names_file_line_audience_key(
    tmp_path,
):
    text = GOOD.replace(
        "field: churn_band, op: in, value: [medium, high]", "field: churn_bnad, op: eq, value: x"
    )
    text = text.replace("op: gte, value: 10", "op: gte, value: ten")
    message = _problems(tmp_path, text)
    path = tmp_path / "audiences.yml"
    assert f"{path}, line 12, audience 'churn_watch', where[0].field: 'churn_bnad' is not a column" in message
    assert f"{path}, line 13, audience 'churn_watch', where[1].value: 'ten' is not a number" in message
    assert "2 problem(s)" in message


def test_given_a_value_outside_the_accepted_values_when_loaded_then_the_accepted_values_are_listed(tmp_path):
    message = _problems(tmp_path, GOOD.replace("[medium, high]", "[medium, hihg]"))
    assert (
        "line 12, audience 'churn_watch', where[0].value: 'hihg' is not one of low, medium, high" in message
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("version: 3", "version: v3"), "line 1, file, version: required: a whole number"),
        (("op: in,", "op: contains,"), "where[0].op: 'contains' is not one of eq, ne, in"),
        (("value: [medium, high]", "value: medium"), "where[0].value: in needs a non-empty list"),
        (("consent: email", "consent: post"), "line 16, audience 'churn_watch', consent: required: one of"),
        (
            ("destinations: [files, crm]", "destinations: [files, ads]"),
            "destinations[1]: 'ads' is not declared",
        ),
        (("contact_fields: [email]", "contact_fields: [password]"), "'password' is not a contact column"),
        (
            ("fields: [churn_band, value_tier]", "fields: [churn_band, customer_key]"),
            "fields[1]: 'customer_key'",
        ),
        (
            ("    type: postgres", "    type: ftp"),
            "destination 'crm', type: must be one of file, webhook, postgres",
        ),
        (("name: churn_watch", "name: Churn Watch"), "name: required; lower-case letters"),
    ],
)
def test_given_one_mistake_when_loaded_then_the_error_says_where_and_what(tmp_path, change, expected):
    old, new = change
    assert old in GOOD
    assert expected in _problems(tmp_path, GOOD.replace(old, new))


def test_given_contact_fields_but_no_destination_allowing_them_when_loaded_then_it_is_refused(tmp_path):
    message = _problems(tmp_path, GOOD.replace("destinations: [files, crm]", "destinations: [files]"))
    assert "audience 'churn_watch', contact_fields: none of the audience's destinations allows" in message


def test_given_broken_yaml_when_loaded_then_the_error_gives_line_and_column(tmp_path):
    message = _problems(tmp_path, GOOD.replace("fields: [churn_band, value_tier]", "fields: [churn_band"))
    assert "audiences.yml, line" in message and "column" in message and "not valid YAML" in message


def test_given_two_audiences_with_one_name_when_loaded_then_the_second_is_refused(tmp_path):
    body = GOOD.split("audiences:\n", 1)[1]
    message = _problems(tmp_path, GOOD + body)
    assert "line 18, audience 'churn_watch', name: defined twice" in message


def test_given_conditions_when_rendered_then_values_are_bound_and_negations_keep_nulls():
    from customer360.activation.audiences import Condition

    assert condition_sql(Condition("value_tier", "eq", "A"), "a") == ('a."value_tier" = ?', ["A"])
    sql, params = condition_sql(Condition("churn_band", "not_in", ("high",)), "a")
    assert sql == '(a."churn_band" is null or a."churn_band" not in (?))' and params == ["high"]
    assert condition_sql(Condition("rfm_segment", "is_null"), "a") == ('a."rfm_segment" is null', [])


def test_given_an_email_audience_then_consent_deletion_and_the_contact_cap_are_required():
    audiences = load_audiences(PROJECT_DIR / "config" / "audiences.yml", DBT)
    sql = consent_sql(audiences.audience("cross_sell_email"), "a")
    assert "can_contact_email" in sql and "is_deleted" in sql and "is_at_contact_cap" in sql
