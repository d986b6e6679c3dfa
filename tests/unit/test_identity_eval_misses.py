"""Why true pairs stay apart (customer360_dev.identity_eval.misses): hand-made records, a trained model.

Truth: P1 = e1, e2 (one email: linked); P2 = n1, n2 (nothing in common: never compared); P3 = g1, g2 (one
email and name, two account ids: the account guard refuses the link).
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer360.identity import resolve
from customer360.identity.evaluate import pairwise_metrics
from customer360.settings import Settings
from customer360.warehouse import connect
from customer360_dev.identity_eval.misses import CAUSES, missed_pairs
from customer360_dev.identity_synthetic import write_input_table
from tests.support.identity_model import install_model, train_model_file

COLUMNS = (
    "source_channel", "source_record_id", "observed_at", "account_id", "loyalty_id", "email", "phone",
    "first_name", "last_name", "full_name", "birth_date", "street", "postal_code", "city", "country_code",
)  # fmt: skip
GERT = {"email": "gert.bos@kpn.nl", "first_name": "Gert", "last_name": "Bos", "birth_date": "1970-05-06"}
RECORDS = [
    ("P1", "e1", {"email": "eva.smit@kpn.nl", "first_name": "Eva", "last_name": "Smit"}),
    ("P1", "e2", {"email": "eva.smit@kpn.nl"}),
    (
        "P2",
        "n1",
        {"first_name": "Anna", "last_name": "Visser", "birth_date": "1980-02-03", "postal_code": "1011"},
    ),
    ("P2", "n2", {"first_name": "Bram", "last_name": "Dekker", "email": "bd@ziggo.nl"}),
    ("P3", "g1", {"account_id": "A1", **GERT}),
    ("P3", "g2", {"account_id": "A2", **GERT}),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A kept evaluation home: the input, a trained model, the identity run and the truth."""
    model = train_model_file(Settings(home=tmp_path_factory.mktemp("model")))
    home = tmp_path_factory.mktemp("set")
    settings = Settings(home=home)
    install_model(settings, model)
    rows = []
    for _, record_id, fields in RECORDS:
        row = dict.fromkeys(COLUMNS)
        row.update(source_channel="crm_contacts", source_record_id=record_id, country_code="NL", **fields)
        row["observed_at"] = "2026-02-01 10:00:00"
        rows.append(row)
    table = pa.table({c: pa.array([r[c] for r in rows], pa.string()) for c in COLUMNS})
    table = table.set_column(2, "observed_at", table.column("observed_at").cast(pa.timestamp("us")))
    table = table.set_column(10, "birth_date", table.column("birth_date").cast(pa.date32()))
    with connect(settings) as con:
        write_input_table(con, table)
    resolve(settings, date(2026, 3, 1), "misses")
    truth = pa.table(
        {
            "source_channel": ["crm_contacts"] * len(RECORDS),
            "source_record_id": [r[1] for r in RECORDS],
            "person_id": [r[0] for r in RECORDS],
        }
    )
    (home / "truth").mkdir()
    pq.write_table(truth, home / "truth" / "source_records.parquet")
    return home


def test_given_a_kept_home_when_misses_are_counted_then_each_missed_pair_has_one_cause(home):
    # WHEN the missed pairs of the home are classified
    report = missed_pairs(home, listed=5)
    # THEN the pair sharing nothing was never compared, the pair split by the account guard was refused,
    # and the linked pair is not a miss
    assert report.true_pairs == 3
    assert report.by_cause == {"never_compared": 1, "not_corroborated": 0, "below_threshold": 0, "refused": 1}
    assert set(report.by_cause) == set(CAUSES)
    # AND the count agrees with the pairwise metrics of the same run
    truth = home / "truth" / "source_records.parquet"
    with connect(Settings(home=home), read_only=True) as con:
        con.execute(f"create temp table truth as select * from read_parquet('{truth}')")
        metrics = pairwise_metrics(con, "identity.customer_source_xref", "truth")
    assert report.missed_pairs == metrics.true_pairs - metrics.true_positive_pairs
    # AND the listing shows the refused pair first (it has a score), beside its records
    assert report.examples[0]["cause"] == "refused"
    assert {report.examples[0]["given_name_l"], report.examples[0]["given_name_r"]} == {"gert"}
    assert "never_compared" in report.text()


def test_given_a_sweep_when_every_scored_pair_is_linked_then_only_the_pair_never_compared_is_missed(home):
    # WHEN every scored pair is linked, whatever its weight, and no guard refuses
    report = missed_pairs(home, sweep=(2.0, -1000.0))
    # THEN the refused pair (scored high) joins, the pair never compared does not: 2 of 3 true pairs, no false
    (high_weight, precision, recall) = report.sweep[-1]
    assert (high_weight, precision, recall) == (-1000.0, 1.0, pytest.approx(2 / 3))
    assert report.sweep[0][2] == pytest.approx(2 / 3)
    assert "no guards" in report.text()


def test_given_a_home_without_a_model_then_the_error_says_how_to_keep_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="--work-dir"):
        missed_pairs(tmp_path)
