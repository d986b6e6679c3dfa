"""Publishing an older date never replaces a newer current snapshot unless asked (``--publish-older``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from customer360.cli import build_parser
from customer360.publish.snapshot import current_logical_date, newer_current_snapshot
from customer360.settings import Settings


def _published(home: Path, logical_date: str) -> Settings:
    settings = Settings(home=home)
    snapshot = settings.published_dir / "snapshots" / f"{logical_date}__20261207T000000000000Z"
    snapshot.mkdir(parents=True)
    (snapshot / "manifest.json").write_text(json.dumps({"logical_date": logical_date}), encoding="utf-8")
    (settings.published_dir / "current").symlink_to(snapshot.relative_to(settings.published_dir))
    return settings


def test_given_a_current_snapshot_for_a_later_date_when_an_earlier_date_publishes_then_it_is_refused_with_fix(
    tmp_path,
):
    settings = _published(tmp_path, "2026-11-20")
    message = newer_current_snapshot(settings, date(2026, 11, 18))
    assert current_logical_date(settings) == date(2026, 11, 20)
    assert message is not None
    assert "2026-11-20" in message and "customer360 run --date 2026-11-18 --publish-older" in message
    assert "CUSTOMER360_PUBLISH_OLDER=true" in message


def test_given_a_current_snapshot_when_the_same_or_a_later_date_publishes_or_older_is_asked_then_it_may(
    tmp_path,
):
    settings = _published(tmp_path, "2026-11-20")
    assert newer_current_snapshot(settings, date(2026, 11, 20)) is None
    assert newer_current_snapshot(settings, date(2026, 11, 21)) is None
    asked = settings.with_overrides(publish_older=True)
    assert newer_current_snapshot(asked, date(2026, 11, 18)) is None
    assert newer_current_snapshot(Settings(home=tmp_path / "empty"), date(2026, 11, 18)) is None


def test_given_the_run_command_when_publish_older_is_passed_then_it_is_parsed_and_the_setting_reads_it(
    monkeypatch, tmp_path
):
    args = build_parser().parse_args(["run", "--date", "2026-11-18", "--publish-older"])
    assert args.publish_older is True
    assert build_parser().parse_args(["run", "--date", "2026-11-18"]).publish_older is False
    monkeypatch.setenv("CUSTOMER360_PUBLISH_OLDER", "true")
    assert Settings(home=tmp_path).publish_older is True
