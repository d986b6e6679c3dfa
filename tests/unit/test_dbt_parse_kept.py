"""dbt's saved parse is kept once per set of ``--vars`` (customer360.dbt_runner.parse_kept_per_vars), so a
build with other vars (the core layer's full rebuild) does not make the next build parse the whole project."""

from __future__ import annotations

from pathlib import Path

from customer360.dbt_runner import PARTIAL_PARSE_FILE, parse_kept_per_vars

DAILY = {"rfm_window_days": 365, "marts_full_rebuild": False}
REBUILD = {"rfm_window_days": 365, "marts_full_rebuild": True}


def _build(target: Path, stable_vars: dict, parse: bytes) -> bytes | None:
    """What a dbt call finds in its partial-parse file, then writes its own parse there, as dbt does."""
    with parse_kept_per_vars(target, stable_vars):
        saved = target / PARTIAL_PARSE_FILE
        found = saved.read_bytes() if saved.exists() else None
        saved.write_bytes(parse)
    return found


def test_given_a_build_with_other_vars_between_when_the_daily_vars_come_back_then_dbt_finds_their_parse(
    tmp_path: Path,
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    # GIVEN a staging build (no parse saved yet), then the core layer's full rebuild with its own vars
    assert _build(target, DAILY, b"parse for the daily vars") is None
    assert _build(target, REBUILD, b"parse for the rebuild vars") == b"parse for the daily vars"
    # WHEN the analytics build passes the daily vars again THEN dbt finds the parse made with them
    assert _build(target, DAILY, b"daily, again") == b"parse for the daily vars"
    # AND the next full rebuild finds the rebuild's parse, not the last one
    assert _build(target, REBUILD, b"rebuild, again") == b"parse for the rebuild vars"
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [PARTIAL_PARSE_FILE, *(p.name for p in target.glob("partial_parse.*.msgpack"))]
    )
    assert len(list(target.glob("partial_parse.*.msgpack"))) == 2


def test_given_no_target_folder_yet_when_dbt_fails_before_writing_then_nothing_is_kept(
    tmp_path: Path,
) -> None:
    target = tmp_path / "target"
    with parse_kept_per_vars(target, DAILY):
        pass
    assert not target.exists()
