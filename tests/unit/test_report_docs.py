"""`customer360 docs`: the dbt docs site and the newest run's GX Data Docs under <home>/docs, and clear
messages when the dbt project, the warehouse or a run is missing."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import pytest

from customer360.report.docs_site import build_docs, generate_dbt_docs, publish_quality_docs
from customer360.settings import Settings
from tests.support import published_snapshot


def _data_docs(settings: Settings, day: str, text: str) -> None:
    site = settings.run_dir(day) / "gx" / "data_docs" / "local_site"
    site.mkdir(parents=True)
    (site / "index.html").write_text(text, encoding="utf-8")
    (site / f"only-{day}.html").write_text(text, encoding="utf-8")


def test_quality_docs_copy_the_newest_run_and_replace_the_previous_copy(tmp_path: Path) -> None:
    """GIVEN Data Docs in the runs of 2026-11-23 and 2026-11-24 WHEN the quality docs are published twice,
    first for the 23rd, then by default THEN <home>/docs/quality holds the 24th's site only."""
    settings = Settings(home=tmp_path)
    _data_docs(settings, "2026-11-23", "old")
    _data_docs(settings, "2026-11-24", "new")
    first = publish_quality_docs(settings, date(2026, 11, 23))
    assert first.ok and first.path == tmp_path / "docs" / "quality" / "local_site" / "index.html"
    assert first.path.read_text() == "old"
    second = publish_quality_docs(settings)
    assert second.ok and "2026-11-24" in second.message
    site = tmp_path / "docs" / "quality" / "local_site"
    assert (site / "index.html").read_text() == "new"
    assert sorted(p.name for p in site.iterdir()) == ["index.html", "only-2026-11-24.html"]
    assert [p.name for p in (tmp_path / "docs").iterdir()] == ["quality"]  # no leftovers of the swap


def test_missing_pieces_give_clear_messages(tmp_path: Path) -> None:
    """GIVEN no dbt project, then a project but no warehouse, then no run folder WHEN the docs are built THEN
    each outcome is not ok and says what is missing and what to do."""
    no_project = Settings(home=tmp_path / "a", project_dir=tmp_path / "nowhere")
    outcome = generate_dbt_docs(no_project, date(2026, 11, 24))
    assert not outcome.ok and "no dbt project at" in outcome.message and "dbt_project.yml" in outcome.message

    no_warehouse = Settings(home=tmp_path / "b")
    outcome = generate_dbt_docs(no_warehouse, date(2026, 11, 24))
    assert not outcome.ok and "no warehouse at" in outcome.message and "customer360 run" in outcome.message

    no_run = Settings(home=tmp_path / "c")
    no_run.warehouse_path.parent.mkdir(parents=True)
    no_run.warehouse_path.touch()
    dbt_outcome, quality_outcome = build_docs(no_run)
    assert not dbt_outcome.ok and "pass --date" in dbt_outcome.message
    assert not quality_outcome.ok and "no Great Expectations Data Docs under" in quality_outcome.message


def test_docs_command_prints_what_it_built_and_fails_when_a_part_is_missing(
    tmp_path, monkeypatch, capsys
) -> None:
    """GIVEN a home with Data Docs but no warehouse WHEN `customer360 docs` runs THEN it prints where the
    quality docs are, says why the dbt docs were not built, and exits 1."""
    from customer360.report import commands
    from customer360.settings import get_settings

    monkeypatch.setenv("CUSTOMER360_HOME", str(tmp_path))
    get_settings.cache_clear()
    try:
        _data_docs(get_settings(), "2026-11-24", "docs")
        parser = argparse.ArgumentParser()
        commands.register(parser.add_subparsers())
        args = parser.parse_args(["docs"])
        code = args.func(args)
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr()
    assert code == 1
    assert f"quality docs: {tmp_path / 'docs' / 'quality' / 'local_site' / 'index.html'}" in out.out
    assert "dbt docs not built: no warehouse at" in out.err


@pytest.mark.slow
def test_dbt_docs_generate_writes_a_static_site(tmp_path: Path, monkeypatch) -> None:
    """GIVEN the real dbt project and a warehouse holding the fixture marts WHEN the dbt docs are generated
    THEN <home>/docs/dbt holds static_index.html, manifest.json and catalog.json."""
    settings = Settings(home=tmp_path)
    for name in ("DBT_LOG_PATH", "DBT_TARGET_PATH", *settings.dbt_env()):
        monkeypatch.setenv(name, "")  # restored after the test: _prepare_environment sets them in-process
        monkeypatch.delenv(name)
    published_snapshot.write_warehouse(settings.warehouse_path)
    outcome = generate_dbt_docs(settings, date(2026, 11, 24))
    assert outcome.ok, outcome.message
    target = tmp_path / "docs" / "dbt"
    assert outcome.path == target / "static_index.html"
    for name in ("static_index.html", "index.html", "manifest.json", "catalog.json"):
        assert (target / name).is_file(), name
