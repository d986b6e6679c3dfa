"""The dbt models' OpenLineage events of a pipeline run, read from the shared session run (``single_run``, no
Airflow: the stages run as the DAG's tasks would). Every table a dbt build makes has a START and a COMPLETE
naming it as the output, inside a START and COMPLETE of the build itself; the Airflow tasks' own events are
checked on a real DAG run in tests/integration/test_daily_run.py.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from customer360.builds import BUILD_NAMES
from customer360.lineage import dbt_events, naming, tasks
from customer360.lineage.config import read_events
from tests.support.shared_runs import END

pytestmark = pytest.mark.slow


def _by_job(events: list[dict]) -> dict[str, list[dict]]:
    jobs: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        jobs[event["job"]["name"]].append(event)
    return jobs


def test_given_a_run_then_each_dbt_build_is_one_start_and_complete_with_its_models_inside(single_run):
    # GIVEN the shared run's OpenLineage events, written by default under its run folder
    settings, _ = single_run
    events = read_events(settings, END)
    jobs = _by_job(events)
    namespace = naming.warehouse_namespace(settings)
    manifest = tasks._manifest(settings)
    nodes = {**manifest["nodes"], **manifest["sources"]}
    # Each table under its node's own database: the DuckDB target's marts are in their own file, `marts`
    parents = {
        node: {
            tasks._relation(settings, nodes[p])
            for p in manifest["parent_map"][node]
            if p.startswith(("model.", "source."))
        }
        for node in manifest["parent_map"]
    }
    all_built: set[str] = set()
    for layer in BUILD_NAMES:
        # THEN the build is one run: a START and a COMPLETE with the same run id
        build = jobs[dbt_events.job_name(layer)]
        assert [e["eventType"] for e in build] == ["START", "COMPLETE"], layer
        build_run = build[0]["run"]["runId"]
        assert build[1]["run"]["runId"] == build_run
        # AND every table the build makes (the dbt task's outputs, seeds aside: dbt's integration emits
        # no seed events) has a START and a COMPLETE naming it as the output, the build as their parent
        _, outputs = tasks._build_relations(settings, layer)
        seeds = {r for r in outputs if r.split(".")[1] == "seeds"}
        expected = outputs - seeds
        built: dict[str, list[str]] = defaultdict(list)
        for event in events:
            parent = event["run"]["facets"].get("parent", {})
            if parent.get("run", {}).get("runId") != build_run or not event.get("outputs"):
                continue
            assert event["job"]["name"].endswith((".build.run", ".build.snapshot")), event["job"]["name"]
            (output,) = event["outputs"]
            assert output["namespace"] == namespace
            built[output["name"]].append(event["eventType"])
            if event["eventType"] == "COMPLETE":  # the model's inputs: the models and sources it selects from
                node = event["job"]["facets"]["dbt_node"]["unique_id"]
                assert {i["name"] for i in event["inputs"]} == parents[node], node
        assert expected and set(built) == expected, (layer, expected ^ set(built))
        assert all(sorted(types) == ["COMPLETE", "START"] for types in built.values()), layer
        all_built |= set(built)
    # AND the marts are named where they are, as the rest of the project names them (publish's inputs)
    assert naming.warehouse_table(settings, "marts.dim_customers").name in all_built, sorted(all_built)


def test_given_a_run_then_the_dbt_model_inputs_chain_from_the_stages_outputs(single_run):
    # GIVEN the shared run's events: the tables the Python stages write (raw, identity, model scores) are
    # inputs of dbt models, under the same names the Airflow tasks give them as outputs
    settings, _ = single_run
    inputs = {d["name"] for e in read_events(settings, END) for d in e.get("inputs", [])}
    database = naming.warehouse_database(settings)
    written_by_stages = {
        naming.warehouse_table(settings, r).name
        for r in (*[f"raw.{c}" for c in ("web_orders", "crm_contacts")], "identity.customer_source_xref")
    } | {f"{database}.analytics.churn_predictions"}
    assert written_by_stages <= inputs, written_by_stages - inputs


def test_given_a_run_then_each_dbt_layers_progress_reports_its_lineage_events(single_run):
    # The time lineage adds to a build is measured in every run (the dbt stages' progress detail)
    from customer360.progress import read_events as progress

    settings, run = single_run
    ends = {
        e["stage"]: e["detail"]
        for e in progress(settings.run_dir(END.isoformat()), run.run_id)
        if e["event"] == "end" and e["stage"].startswith("dbt:")
    }
    assert set(ends) == {f"dbt:{layer}" for layer in BUILD_NAMES}
    for stage, detail in ends.items():
        assert detail["lineage"]["events"] > 2, stage
        assert 0 <= detail["lineage"]["seconds"] < detail["seconds"], stage
