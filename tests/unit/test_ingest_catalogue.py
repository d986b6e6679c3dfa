"""The catalogue of bad landing files (``tests/ingest_catalogue.py``) obeys one rule: every file is
refused with a reason, or its rows read (every physical record) = loaded + quarantined; no other file's
rows change."""

from __future__ import annotations

from pathlib import Path

import pytest

from customer360.landing.contract import CHANNELS
from tests.support import ingest_catalogue as catalogue


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> catalogue.Outcome:
    return catalogue.check_catalogue(tmp_path_factory.mktemp("catalogue"))


def test_given_the_catalogue_when_loaded_then_each_file_is_refused_or_reconciles_and_no_other_changes(
    outcome: catalogue.Outcome,
) -> None:
    print(outcome.line())  # the counts quoted in the closing note
    assert outcome.violations == []
    assert outcome.rows_read == outcome.rows_loaded + outcome.rows_quarantined
    assert outcome.cases == outcome.refused + outcome.quarantined + outcome.loaded + outcome.skipped


def test_given_the_catalogue_when_built_then_it_covers_every_channel_and_format_with_each_outcome(
    outcome: catalogue.Outcome, tmp_path: Path
) -> None:
    cases = list(catalogue.build_cases(catalogue.valid_files(tmp_path)))
    assert {case.channel for case in cases} == set(CHANNELS)
    assert {CHANNELS[case.channel].format for case in cases} == {"csv", "jsonl", "parquet"}
    for channel in CHANNELS:
        expects = {case.expect for case in cases if case.channel == channel}
        assert {catalogue.REFUSED, catalogue.QUARANTINED, catalogue.CLEAN} <= expects, channel
    assert len({(case.channel, case.name) for case in cases}) == len(cases) == outcome.cases
    assert outcome.refused and outcome.quarantined and outcome.loaded
