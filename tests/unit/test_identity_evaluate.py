"""Pairwise evaluation of identity resolution against a hand-made truth, and the CLI commands."""

from __future__ import annotations

import argparse
import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer360.identity.commands import register
from customer360.identity.evaluate import evaluate_identity, pairwise_metrics
from customer360.settings import Settings, get_settings
from customer360.warehouse import connect

# Truth: person P1 has r1 r2 r3, P2 has r4 r5, P3 has r6.
TRUTH = [("r1", "P1"), ("r2", "P1"), ("r3", "P1"), ("r4", "P2"), ("r5", "P2"), ("r6", "P3")]
# Resolution: C1 = r1 r2 (misses r3), C2 = r3 alone, C3 = r4 r5 r6 (false merge of P2 and P3).
PREDICTED = [("r1", "C1"), ("r2", "C1"), ("r3", "C2"), ("r4", "C3"), ("r5", "C3"), ("r6", "C3")]


def _relation(con: duckdb.DuckDBPyConnection, name: str, rows: list[tuple[str, str]], column: str) -> None:
    con.register(
        name,
        pa.table(
            {
                "source_channel": ["crm_contacts"] * len(rows),
                "source_record_id": [r for r, _ in rows],
                column: [v for _, v in rows],
            }
        ),  # fmt: skip
    )


def test_pairwise_precision_and_recall_on_hand_made_truth():
    """GIVEN a resolution with one missed link and one false merge WHEN evaluated THEN pairs are counted per
    cell: predicted pairs 1 + 3 = 4 of which 1 + 1 correct; true pairs 3 + 1 = 4 -> precision 0.5, recall
    0.5."""
    con = duckdb.connect()
    _relation(con, "truth", TRUTH, "person_id")
    _relation(con, "predicted", PREDICTED, "customer_id")
    result = pairwise_metrics(con, "predicted", "truth")
    assert (result.true_positive_pairs, result.predicted_pairs, result.true_pairs) == (2, 4, 4)
    assert result.precision == pytest.approx(0.5) and result.recall == pytest.approx(0.5)
    assert (result.false_merges, result.missed_merges) == (1, 1)
    assert (result.customers, result.persons, result.evaluated_records) == (3, 3, 6)


def test_perfect_resolution_scores_one_and_records_outside_truth_are_ignored():
    """GIVEN a resolution equal to the truth plus a record the truth does not know WHEN evaluated THEN
    precision and recall are 1 and only the known records are evaluated."""
    con = duckdb.connect()
    _relation(con, "truth", TRUTH, "person_id")
    _relation(
        con, "predicted", [(r, p.replace("P", "C")) for r, p in TRUTH] + [("extra", "C9")], "customer_id"
    )
    result = pairwise_metrics(con, "predicted", "truth")
    assert result.precision == result.recall == 1.0
    assert result.evaluated_records == 6 and result.predicted_records == 7


def test_dbt_short_channel_names_match_the_truth_contract_names():
    """GIVEN an xref with dbt's short channel names ('crm') and a truth with contract names ('crm_contacts')
    WHEN evaluated THEN the records are joined and counted."""
    con = duckdb.connect()
    _relation(con, "truth", TRUTH, "person_id")
    con.register(
        "predicted",
        pa.table(
            {
                "source_channel": ["crm"] * len(PREDICTED),
                "source_record_id": [r for r, _ in PREDICTED],
                "customer_id": [c for _, c in PREDICTED],
            }
        ),
    )
    result = pairwise_metrics(con, "predicted", "truth")
    assert result.evaluated_records == 6 and result.precision == pytest.approx(0.5)


def _truth_table() -> pa.Table:
    return pa.table(
        {
            "source_channel": ["crm_contacts"] * len(TRUTH),
            "source_record_id": [r for r, _ in TRUTH],
            "person_id": [p for _, p in TRUTH],
        }
    )


def _warehouse_with_xref(settings: Settings) -> None:
    with connect(settings) as con:
        _relation(con, "predicted", PREDICTED, "customer_id")
        con.execute(
            "create table identity.customer_source_xref as select source_channel, source_record_id, "
            "customer_id, "
            "'email' as match_rule, 1.0::double as match_score from predicted"
        )


def test_evaluate_identity_reads_warehouse_and_truth_parquet(tmp_path):
    """GIVEN a warehouse xref and a truth Parquet file WHEN evaluate_identity runs THEN it reports the
    metrics."""
    settings = Settings(home=tmp_path)
    _warehouse_with_xref(settings)
    truth = tmp_path / "source_records.parquet"
    pq.write_table(_truth_table(), truth)
    result = evaluate_identity(settings, truth)
    assert result.precision == pytest.approx(0.5) and result.false_merges == 1


def test_evaluate_identity_explains_a_missing_truth_file(tmp_path):
    """GIVEN no truth file WHEN evaluating THEN the error says how to produce one."""
    settings = Settings(home=tmp_path)
    _warehouse_with_xref(settings)
    with pytest.raises(FileNotFoundError, match="customer360 generate"):
        evaluate_identity(settings, tmp_path / "missing.parquet")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="customer360")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_cli_evaluate_identity_prints_json(tmp_path, monkeypatch, capsys):
    """GIVEN the CLI WHEN `evaluate identity --truth F --json` runs THEN it exits 0 and prints the metrics."""
    monkeypatch.setenv("CUSTOMER360_HOME", str(tmp_path))
    get_settings.cache_clear()
    try:
        _warehouse_with_xref(get_settings())
        truth = tmp_path / "truth.parquet"
        pq.write_table(_truth_table(), truth)
        args = _parser().parse_args(["evaluate", "identity", "--truth", str(truth), "--json"])
        assert args.func(args) == 0
        printed = json.loads(capsys.readouterr().out)
        assert printed["precision"] == pytest.approx(0.5) and printed["missed_merges"] == 1
    finally:
        get_settings.cache_clear()


def test_cli_identity_commands_parse():
    """GIVEN the CLI WHEN identity resolve/audit are parsed THEN dates and defaults are typed."""
    args = _parser().parse_args(["identity", "resolve", "--as-of-date", "2026-03-01"])
    assert args.as_of_date.isoformat() == "2026-03-01" and args.run_id is None
    args = _parser().parse_args(["identity", "audit"])
    assert args.top == 20 and callable(args.func)
