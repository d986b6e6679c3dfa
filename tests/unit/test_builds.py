"""The table of dbt builds (customer360.builds) agrees with the dbt project: one folder, one selector and one
DAG task per build, all with the build's name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from customer360.builds import BUILD_NAMES, BUILDS, INCREMENTAL_BUILDS, get_build

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


def _selectors() -> dict[str, dict]:
    loaded = yaml.safe_load((PROJECT / "selectors.yml").read_text())
    return {selector["name"]: selector["definition"] for selector in loaded["selectors"]}


def _paths(definition: dict) -> tuple[list[str], list[str]]:
    """(paths selected, paths excluded) of a selector's union."""
    selected, excluded = [], []
    for part in definition["union"]:
        if "exclude" in part:
            excluded += [item["value"] for item in part["exclude"] if item["method"] == "path"]
        elif part["method"] == "path":
            selected.append(part["value"])
    return selected, excluded


def test_given_the_builds_table_when_read_then_it_is_staging_core_analytics_in_run_order():
    # GIVEN the table WHEN its names are read THEN they are the run's three builds in the order they run,
    # and the two that follow the new data are the incremental ones
    assert BUILD_NAMES == ("staging", "core", "analytics")
    assert INCREMENTAL_BUILDS == ("staging", "core")
    assert [(b.selector, b.task_id, b.stage) for b in BUILDS] == [
        ("staging", "dbt_staging", "dbt:staging"),
        ("core", "dbt_core", "dbt:core"),
        ("analytics", "dbt_analytics", "dbt:analytics"),
    ]


def test_given_an_unknown_build_name_when_looked_up_then_the_error_lists_the_known_builds():
    with pytest.raises(ValueError, match="unknown dbt build 'marts_layer'; known: staging, core, analytics"):
        get_build("marts_layer")


def test_given_selectors_yml_when_compared_with_the_table_then_each_build_selects_its_own_folder():
    # GIVEN selectors.yml WHEN each build's selector is read THEN it exists, selects the build's folder, and
    # no selector selects another build's folder (the folders equal the builds)
    selectors = _selectors()
    daily = {b.daily_selector for b in BUILDS if b.daily_selector}
    assert set(selectors) == set(BUILD_NAMES) | daily
    folders = {b.folder for b in BUILDS}
    for build in BUILDS:
        selected, excluded = _paths(selectors[build.selector])
        assert build.folder in selected, build.name
        assert not (set(selected) - {build.folder}) & folders, build.name
        assert (PROJECT / build.folder).is_dir(), build.folder
    # the core build leaves out the tests that reach into the other two builds' folders
    assert set(_paths(selectors["core"])[1]) == {"models/staging", "models/analytics"}


def test_given_the_model_folders_when_listed_then_there_is_one_per_build_and_config_cascades_from_them():
    # GIVEN dbt_project/models WHEN its folders and dbt_project.yml's model config are read THEN the top
    # folders are exactly the builds, and each has its configuration block
    folders = {p.name for p in (PROJECT / "models").iterdir() if p.is_dir()}
    assert folders == set(BUILD_NAMES)
    config = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["models"]["customer360"]
    assert set(config) == set(BUILD_NAMES)


def test_given_the_change_set_models_when_located_then_each_is_in_a_changes_folder():
    # GIVEN every change-set model (int_*_changed) WHEN located THEN it is in a `changes/` folder
    changed = sorted((PROJECT / "models").rglob("int_*_changed.sql"))
    assert len(changed) == 4
    assert all(path.parent.name == "changes" for path in changed), changed


def test_given_the_fingerprints_when_listed_then_each_incremental_build_covers_its_own_folder():
    # GIVEN the incremental builds WHEN their fingerprint paths are read THEN each covers its own folder (a
    # change of its SQL rebuilds it in full) and the project file and selectors that shape it
    for name in INCREMENTAL_BUILDS:
        paths = get_build(name).fingerprint_paths
        assert {"dbt_project.yml", "selectors.yml", "macros", "seeds"} <= set(paths)
        assert any(get_build(name).folder.startswith(path) for path in paths), name
    assert not get_build("analytics").incremental


def test_given_a_daily_selector_when_read_then_it_is_its_build_without_the_whole_table_tests():
    # GIVEN the builds with a daily selector (core: core_daily) WHEN it is read THEN it is the build's own
    # selector minus the tests tagged whole_table, and those tags sit on folders of tables only: no model of
    # those folders is incremental (an incremental model's tests run in every build)
    selectors = _selectors()
    assert [b.name for b in BUILDS if b.daily_selector] == ["core"]
    assert selectors["core_daily"] == {
        "union": [
            {"method": "selector", "value": "core"},
            {"exclude": [{"method": "tag", "value": "whole_table"}]},
        ]
    }
    tagged = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["data_tests"]["customer360"]["core"]
    folders = [
        PROJECT / "models" / "core" / "intermediate" / "history",
        PROJECT / "models" / "core" / "intermediate" / "service",
        PROJECT / "models" / "core" / "marts" / "customer_analytics",
    ]
    assert tagged["intermediate"]["history"]["+tags"] == ["whole_table"]
    assert tagged["intermediate"]["service"]["+tags"] == ["whole_table"]
    assert tagged["marts"]["customer_analytics"]["+tags"] == ["whole_table"]
    for folder in folders:
        models = sorted(folder.glob("*.sql"))
        assert models, folder
        assert not [m.name for m in models if "materialized='incremental'" in m.read_text()], folder
