"""Incremental identity resolution gives what a run over every record gives (identity.incremental).

Generated records (customer360_dev.identity_synthetic: typos, shared phones, households, CRM versions) arrive
over three days: each day adds records, some records are seen again later (a contact signature's
``observed_at`` moves), a CRM contact gets a new version, and records disappear. One warehouse resolves the
days incrementally, another resolves every record each day; every identity table must be the same.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from customer360.identity import resolve
from customer360.identity.clustering import Guard
from customer360.settings import Settings
from customer360.warehouse import connect
from customer360_dev.identity_synthetic import synthetic_records, write_input_table

DAYS = (date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3))
CUTS = (datetime(2025, 9, 1), datetime(2025, 11, 1), None)
SEEN_AGAIN = datetime(2025, 10, 20, 12, 0)
# Every table identity writes, with the columns that must match (run ids differ by design where noted).
COMPARED = {
    "identity.customer_source_xref": "*",
    "identity.contact_points": "*",
    "identity.customer_ids": "*",
    "identity.customer_merge_history": "*",
    "identity.customer_id_aliases": "*",
    "identity.match_edges": "* exclude (run_id)",  # the run that last evaluated an edge
    "identity.record_components": "*",
    "identity.record_rows": "*",
}


def _day_inputs(persons: int = 1500, seed: int = 3) -> list[pa.Table]:
    records, _ = synthetic_records(persons, seed)
    rng = np.random.default_rng(seed)
    observed = records.column("observed_at")
    inputs = []
    for day, cut in enumerate(CUTS):
        table = (
            records if cut is None else records.filter(pc.less(observed, pa.scalar(cut, pa.timestamp("us"))))
        )
        if day >= 1:
            # 3% of the first day's records are seen again (a signature's observed_at is its last sighting)
            seen = rng.random(table.num_rows) < 0.03
            early = pc.less(table.column("observed_at"), pa.scalar(CUTS[0], pa.timestamp("us"))).to_numpy(
                zero_copy_only=False
            )
            moved = np.where(
                seen & early, np.datetime64(SEEN_AGAIN, "us"), table.column("observed_at").to_numpy()
            )
            table = table.set_column(
                table.schema.get_field_index("observed_at"),
                "observed_at",
                pa.array(moved, pa.timestamp("us")),
            )
        if day == 2:
            # a CRM contact changes email (a new version row), and 12 records leave the input
            crm = table.filter(pc.equal(table.column("source_channel"), "crm_contacts")).slice(0, 5)
            version = crm.set_column(
                crm.schema.get_field_index("email"),
                "email",
                pa.array([f"moved.{i}@example.org" for i in range(crm.num_rows)]),
            ).set_column(
                crm.schema.get_field_index("observed_at"),
                "observed_at",
                pa.array([datetime(2025, 12, 30)] * crm.num_rows, pa.timestamp("us")),
            )
            keep = np.ones(table.num_rows, dtype=bool)
            keep[rng.choice(table.num_rows, 12, replace=False)] = False
            table = pa.concat_tables([table.filter(pa.array(keep)), version])
        inputs.append(table)
    return inputs


def _load(settings: Settings, table: pa.Table) -> None:
    with connect(settings) as con:
        con.execute("drop table if exists intermediate.int_contact_records_unioned")
        write_input_table(con, table)


def _snapshot(settings: Settings) -> dict[str, list[tuple]]:
    with connect(settings, read_only=True) as con:
        return {
            table: sorted(con.execute(f"select {columns} from {table}").fetchall(), key=repr)
            for table, columns in COMPARED.items()
        }


def _answers(settings: Settings) -> dict[tuple, tuple]:
    """Per record: its customer_source_xref and contact_points rows (what the core layer reads)."""
    with connect(settings, read_only=True) as con:
        rows = con.execute(
            """select source_channel, source_record_id, x, c
            from (select source_channel, source_record_id, x from identity.customer_source_xref as x)
            full join (select source_channel, source_record_id, c from identity.contact_points as c)
                using (source_channel, source_record_id)"""
        ).fetchall()
    return {(channel, record): (repr(x), repr(c)) for channel, record, x, c in rows}


def _logged_changes(settings: Settings) -> list[set[tuple]]:
    """identity.record_changes, one set of (channel, record) per run in order (None, None: every record)."""
    with connect(settings, read_only=True) as con:
        rows = con.execute(
            "select changed_at, source_channel, source_record_id from identity.record_changes order by 1"
        ).fetchall()
    runs: dict[datetime, set[tuple]] = {}
    for changed_at, channel, record in rows:
        runs.setdefault(changed_at, set()).add((channel, record))
    return list(runs.values())


@pytest.fixture(scope="module")
def inputs() -> list[pa.Table]:
    return _day_inputs()


@pytest.fixture(scope="module")
def incremental_and_full(tmp_path_factory, inputs):
    """Two warehouses resolving the same three days: incrementally, and every record every day."""
    incremental = Settings(home=tmp_path_factory.mktemp("incremental"))
    full = replace(Settings(home=tmp_path_factory.mktemp("full")), full_refresh=True)
    results = {"incremental": [], "full": [], "answers": []}
    for day, table in zip(DAYS, inputs, strict=True):
        for name, settings in (("incremental", incremental), ("full", full)):
            _load(settings, table)
            results[name].append(resolve(settings, day, f"run__{day}"))
        results["answers"].append(_answers(incremental))
    return incremental, full, results


def test_given_three_days_when_resolved_incrementally_then_every_identity_table_equals_a_full_run(
    incremental_and_full,
):
    incremental, full, results = incremental_and_full
    assert [r.mode for r in results["incremental"]] == ["full", "incremental", "incremental"]
    assert [r.mode for r in results["full"]] == ["full", "full", "full"]
    assert _snapshot(incremental) == _snapshot(full)
    for mine, theirs in zip(results["incremental"], results["full"], strict=True):
        assert (mine.records, mine.customers, mine.new_customers, mine.merges, mine.splits) == (
            theirs.records,
            theirs.customers,
            theirs.new_customers,
            theirs.merges,
            theirs.splits,
        )


def test_given_daily_changes_then_a_run_resolves_part_of_the_records_and_normalises_new_rows_only(
    incremental_and_full, inputs
):
    _, _, results = incremental_and_full
    for day in (1, 2):
        result = results["incremental"][day]
        assert 0 < result.records_resolved < result.records
        assert 0 < result.rows_normalised < inputs[day].num_rows
    # the days' changes really moved people: some ids were retired or merged, some were issued
    assert sum(r.new_customers for r in results["incremental"][1:]) > 0


def test_given_daily_runs_then_each_logs_exactly_the_records_whose_customer_or_contact_points_changed(
    incremental_and_full,
):
    incremental, full, results = incremental_and_full
    answers = results["answers"]
    expected = [{(None, None)}] + [
        {
            key
            for key in answers[day].keys() | answers[day - 1].keys()
            if answers[day].get(key) != answers[day - 1].get(key)
        }
        for day in (1, 2)
    ]
    assert all(expected[1:]), "the generated days change some records"
    assert max(len(keys) for keys in expected[1:]) < len(answers[-1]) / 2
    # the first run had no earlier answer: one row for every record; an incremental run compares its scope,
    # a full run every record: both log the same records
    assert _logged_changes(incremental) == expected
    assert _logged_changes(full) == expected
    assert [r.records_changed for r in results["incremental"]] == [-1] + [len(keys) for keys in expected[1:]]


def test_given_no_change_when_the_date_runs_again_then_nothing_is_resolved_and_nothing_changes(
    tmp_path, incremental_and_full
):
    incremental, _, _ = incremental_and_full
    home = tmp_path / "again"
    shutil.copytree(incremental.home, home)
    settings = Settings(home=home)
    before = _snapshot(settings)
    again = resolve(settings, DAYS[-1], "rerun")
    assert (again.mode, again.records_resolved, again.rows_normalised) == ("incremental", 0, 0)
    assert again.records_changed == 0
    assert again.records == before["identity.customer_source_xref"].__len__()
    assert _snapshot(settings) == before


def test_given_a_changed_rule_an_erasure_or_a_request_then_every_record_is_resolved(tmp_path, inputs):
    settings = Settings(home=tmp_path)
    _load(settings, inputs[0])
    assert resolve(settings, DAYS[0], "first").mode_reason == "no earlier incremental state"
    # a guard limit is part of the rule set: a change re-resolves everything under the new rules
    changed = resolve(settings, DAYS[0], "guards", guards=(Guard("emails", 1), Guard("phones", 1)))
    assert (changed.mode, changed.ruleset_changed) == ("full", True)
    assert "rules" in changed.mode_reason
    assert resolve(settings, DAYS[0], "back").mode == "full"  # back to the default rules
    assert resolve(settings, DAYS[0], "same").mode == "incremental"
    with connect(settings) as con:
        con.execute("create schema if not exists audit")
        con.execute("create table audit.erasure_log (request_id varchar, processed_at timestamp)")
        con.execute("insert into audit.erasure_log values ('r1', now()::timestamp + interval 1 minute)")
    erased = resolve(settings, DAYS[0], "after-erasure")
    assert (erased.mode, erased.mode_reason) == ("full", "1 erasure request(s) processed since the last run")
    asked = resolve(replace(settings, full_refresh=True), DAYS[0], "asked")
    assert (asked.mode, asked.mode_reason) == ("full", "asked for (CUSTOMER360_FULL_REFRESH)")


def test_given_the_bench_daily_step_when_a_day_arrives_then_it_is_incremental_and_equals_a_full_run(tmp_path):
    # GIVEN the identity bench on 1,500 persons, then one more day of the same people (``--daily``)
    from customer360_dev.identity_synthetic import run_benchmark

    report = run_benchmark(1500, seed=4, directory=tmp_path / "bench", daily=True)
    # THEN the day is resolved incrementally, over a part of the records only
    assert report["daily_mode"] == "incremental"
    assert 0 < report["daily_records"] <= report["daily_records_resolved"] < report["records"]
    assert report["daily_resolve_cpu_seconds"] >= 0
    # AND the customers are the ones a full resolution of the same records makes
    full_home = tmp_path / "full"
    shutil.copytree(tmp_path / "bench", full_home)
    full = resolve(replace(Settings(home=full_home), full_refresh=True), date(2026, 1, 2), "full")
    assert full.mode == "full"
    assert _partition(Settings(home=tmp_path / "bench")) == _partition(Settings(home=full_home))


def _partition(settings: Settings) -> set[frozenset[tuple[str, str]]]:
    with connect(settings) as con:
        rows = con.execute(
            "select customer_id, source_channel, source_record_id from identity.customer_source_xref"
        ).fetchall()
    clusters: dict[str, set[tuple[str, str]]] = {}
    for customer, channel, record in rows:
        clusters.setdefault(customer, set()).add((channel, record))
    return {frozenset(members) for members in clusters.values()}
