"""The stages of one daily run, as plain functions: the DAG's tasks call these and nothing else.

Every stage takes the logical date and the run id, records its progress in the run folder, and returns a
small JSON-able dict (it becomes the task's XCom). A stage that finds bad data it must not pass on raises
an error whose message says what failed and where to look; a warning is recorded and the run goes on.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from customer360.memory import release_unused_memory
from customer360.progress import stage
from customer360.settings import Settings, get_settings

log = logging.getLogger(__name__)


class QualityGateError(RuntimeError):
    """A critical expectation failed (or a check could not run): downstream stages must not start."""


class ChannelIngestError(RuntimeError):
    """A landing file of a channel could not be read at all; the channel's other files were loaded."""


class RunFailedError(RuntimeError):
    """The run finished its stages but something failed on the way; the summary says what."""


class PublishWithheldError(RunFailedError):
    """The run has already failed (a landing file was refused): its marts must not replace the snapshot."""


def _refused_files(run_dir, run_id: str) -> list[str]:
    """This run's ingest failures: refused files (their manifest message) and channels that did not end."""
    from customer360.progress import read_events

    last: dict[str, dict[str, Any]] = {}
    for event in read_events(run_dir, run_id):
        if event.get("stage", "").startswith("ingest:"):
            last[event["stage"]] = event
    problems: list[str] = []
    for name, event in sorted(last.items()):
        if event["event"] == "error":
            problems.append(f"{name}: {event.get('error')}")
        problems.extend(f"{name}: {failure}" for failure in (event.get("detail") or {}).get("failures", []))
    return problems


def _unrecoverable_ingest_errors(run_dir, run_id: str) -> list[str]:
    """Channels whose ingest did not finish for a reason other than an unreadable file.

    An unreadable file fails only its channel (the others go on); any other error (disk full, permission
    denied, a killed task) must stop the run before the raw layer is validated.
    """
    from customer360.landing.contract import CHANNELS
    from customer360.progress import read_events

    last: dict[str, dict[str, Any]] = {}
    for event in read_events(run_dir, run_id):
        name = event.get("stage", "")
        if name.startswith("ingest:"):
            last[name.split(":", 1)[1]] = event
    problems = []
    for channel in CHANNELS:
        event = last.get(channel)
        if event is None or event["event"] == "start":
            problems.append(f"ingest of {channel} did not finish (killed or not started)")
        elif event["event"] == "error" and not event.get("error", "").startswith("ChannelIngestError"):
            problems.append(f"ingest of {channel} failed: {event.get('error')}")
    return problems


def _jsonable(value: Any) -> Any:
    """What a stage returns becomes an Airflow XCom (JSON): no NaN, no numpy scalars, no dates."""
    import math
    from datetime import datetime

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _jsonable(value.item())
    return value


def _settings(settings: Settings | None) -> Settings:
    return settings or get_settings()


def ingest(channel: str, logical_date: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Load every new landing file of ``channel`` up to ``logical_date`` into ``raw.<channel>``."""
    from customer360.ingest import load_channel

    s = _settings(settings)
    with stage(s.run_dir(logical_date.isoformat()), f"ingest:{channel}", run_id) as detail:
        result = load_channel(s, channel, logical_date, run_id)
        detail.update(_ingest_detail(result))
    if result.failures:
        raise ChannelIngestError(
            f"channel {channel}: {len(result.failures)} file(s) could not be read; the other files were "
            "loaded:\n  - " + "\n  - ".join(detail["failures"])
        )
    return _jsonable(detail)


def _ingest_detail(result) -> dict[str, Any]:
    """A compact account of one channel's ingest: totals, file counts by status, failures, drift."""
    files = result.files
    return {
        "channel": result.channel,
        "files_loaded": sum(1 for f in files if f.status == "loaded"),
        "files_skipped": sum(1 for f in files if f.status in ("unchanged", "skipped_duplicate")),
        "files_duplicate": sum(1 for f in files if f.status == "skipped_duplicate"),
        "files_failed": len(result.failures),
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_quarantined": result.rows_quarantined,
        "failures": [f"{f.file}: {f.message}" for f in result.failures],
        "duplicates": [f"{f.file}: {f.message}" for f in files if f.status == "skipped_duplicate"],
        "files_ignored": len(result.ignored),
        "ignored": [f"{f.file}: {f.message}" for f in result.ignored],
        "drift": list(result.drift),
        "seconds": round(result.seconds, 2),
        # The files this run loaded (relative to the landing root): the inputs of the task's lineage.
        "loaded": [f.file for f in files if f.status == "loaded"],
    }


def validate(layer: str, logical_date: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Run the Great Expectations checkpoint of one layer; stop on red."""
    from customer360.quality import run_checkpoint

    s = _settings(settings)
    run_dir = s.run_dir(logical_date.isoformat())
    if layer == "raw":
        problems = _unrecoverable_ingest_errors(run_dir, run_id)
        if problems:
            raise QualityGateError(
                "the raw layer is not validated because ingest did not complete:\n  - "
                + "\n  - ".join(problems)
            )
    with stage(run_dir, f"validate:{layer}", run_id) as detail:
        result = run_checkpoint(s, layer, logical_date, run_id)
        detail.update(result.as_dict())
        held = _contained_marts(s, layer, logical_date, run_id, result)
        if held:
            detail["held_back"] = sorted(held)
    if not result.ok and not held:
        raise QualityGateError(result.failure_message())
    return _jsonable(detail)


def _contained_marts(s: Settings, layer: str, logical_date: date, run_id: str, result: Any) -> set[str]:
    """Marts-stage failures that name their marts hold those back instead of stopping the run.

    See ``customer360.quality.alerting`` (``meta={"marts": [...]}``); publish reads the recorded list.
    """
    if layer != "marts":
        return set()
    from customer360.quality import alerting
    from customer360.quality.runner import load_suites

    alerting.clear_held_back(s, logical_date)
    if result.ok:
        return set()
    held = alerting.contained_marts(result, load_suites(s, layer, logical_date, run_id)) or set()
    if held:
        alerting.record_held_back(s, logical_date, run_id, held, result.critical_failures)
    return held


def build_layer(
    layer: str, logical_date: date, run_id: str, settings: Settings | None = None
) -> dict[str, Any]:
    """One ``dbt build`` of one of the run's builds (``customer360.builds``: staging, core or analytics). The
    staging and core builds are incremental: they recompute only what the new data change, or rebuild in
    full when they must (see ``customer360.incremental`` and docs/incremental.md)."""
    from customer360 import dbt_runner, incremental
    from customer360.builds import get_build

    s = _settings(settings)
    build = get_build(layer)
    with stage(s.run_dir(logical_date.isoformat()), build.stage, run_id) as detail:
        if build.incremental:
            plan = incremental.plan_build(s, layer, logical_date, dbt_runner.dbt_vars(s, logical_date))
            log.info("dbt %s layer: %s (%s)", layer, plan.as_dict()["mode"], plan.reason)
            result = dbt_runner.build(
                s,
                layer,
                logical_date,
                extra_vars=plan.dbt_vars(),
                full_refresh=plan.full_refresh_flag,
                selector=plan.selector,
            )
            incremental.record_build(s, plan, run_id)
            detail["build"] = plan.as_dict()
        else:
            result = dbt_runner.build(s, layer, logical_date)
        detail.update(result.as_dict())
    return _jsonable(detail)


def resolve_identity(logical_date: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Resolve every source record to a stable ``customer_id``."""
    from customer360.identity import resolve
    from customer360.warehouse import spark_identity_stage

    s = _settings(settings)
    try:
        with stage(s.run_dir(logical_date.isoformat()), "identity", run_id) as detail:
            result = (spark_identity_stage(s) or resolve)(s, logical_date, run_id)
            detail.update(result.as_dict())
    finally:
        release_unused_memory()
    return _jsonable(detail)


def train_identity_model(logical_date: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Train the next identity match model version (the monthly DAG; ``customer360 identity train``)."""
    from customer360.identity.model_store import train_in_warehouse

    s = _settings(settings)
    model, path, changes = train_in_warehouse(s, logical_date)
    return _jsonable(
        {
            "run_id": run_id,
            "version": model.version,
            "path": str(path),
            "training_window": model.training_window,
            "training_records": model.training_records,
            "weights": changes,
        }
    )


def fit_models(logical_date: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Score every customer with the CLV models (Pareto/NBD, Gamma-Gamma) and the churn model of the date's
    refit date (fitted when missing); a model that cannot fit is recorded, never fails the run
    (``customer360.model_runs``)."""
    from customer360.model_runs import run_models

    s = _settings(settings)
    try:
        result = run_models(s, logical_date, run_id)
    finally:
        release_unused_memory()
    return _jsonable(result)


def publish(logical_date: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Publish the marts as a read-only snapshot, swapped in whole, then write the run's report."""
    from customer360.publish import publish_marts
    from customer360.publish.snapshot import newer_current_snapshot
    from customer360.quality.alerting import held_back_marts
    from customer360.report import build_report

    s = _settings(settings)
    run_dir = s.run_dir(logical_date.isoformat())
    with stage(run_dir, "publish", run_id) as detail:
        refused = _refused_files(run_dir, run_id)
        if refused:  # a failed run never swaps the published snapshot (the last good one stays current)
            raise PublishWithheldError(
                f"not published: ingest refused {len(refused)} file(s) in run {run_id}; the last published "
                "snapshot stays current:\n  - " + "\n  - ".join(refused)
            )
        older = newer_current_snapshot(s, logical_date)
        if older is not None:  # an older date never replaces a newer current snapshot unless asked
            detail.update(warning=older, published=False)
            return _jsonable(detail)
        held_back = held_back_marts(s, logical_date, run_id)  # marts whose checks failed (quality.alerting)
        detail.update(publish_marts(s, logical_date, run_id, exclude=held_back))
    # The report reads the snapshot just published; a report that cannot be drawn is a warning, not a
    # reason to take the marts back.
    with stage(run_dir, "report", run_id) as report_detail:
        try:
            report_detail["report"] = str(build_report(s, logical_date, run_id))
        except Exception as exc:  # noqa: BLE001 - recorded in the summary as a warning
            report_detail["warning"] = f"the run report could not be built: {type(exc).__name__}: {exc}"
    return _jsonable({**detail, **report_detail})


def summarize(logical_date: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Write ``summary.json`` for the run: what was read, loaded, quarantined, checked and published."""
    from customer360.summary import build_summary, write_summary

    s = _settings(settings)
    summary = build_summary(s, logical_date, run_id)
    path = write_summary(s, logical_date, summary)
    if summary["problems"]:
        raise RunFailedError(
            f"run {run_id} for {logical_date} ended with problems (summary: {path}):\n  - "
            + "\n  - ".join(summary["problems"])
        )
    return {"summary_path": str(path), "status": summary["status"]}


def activate(logical_date: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Materialise the audiences of config/audiences.yml from the snapshot just published and send them to
    their destinations (files, webhooks, PostgreSQL), each keeping state so a rerun sends nothing twice
    (``customer360.activation``, docs/activation.md). Dead-lettered webhook batches are warnings; a
    destination that fails fails the task after the others have delivered."""
    from customer360.activation import ActivationError, totals
    from customer360.activation import activate as run_activation
    from customer360.publish.snapshot import current_logical_date

    s = _settings(settings)
    with stage(s.run_dir(logical_date.isoformat()), "activate", run_id) as detail:
        current = current_logical_date(s)
        if current is not None and current > logical_date:
            # publish kept the newer snapshot current (an older date is published only when asked): the
            # audiences are that snapshot's, and its own run sent them
            warning = (
                f"activation: nothing sent for {logical_date}: it was not published, and the current "
                f"snapshot ({current}) was activated by its own run"
            )
            detail.update(warnings=[warning], totals=None)
            return _jsonable({"totals": None, "warnings": [warning]})
        result = run_activation(s, logical_date, run_id)
        detail.update(result.as_dict())
        detail["totals"] = totals(result)
        if result.failures:
            raise ActivationError(
                f"activation of run {run_id}: {len(result.failures)} destination(s) failed; the others "
                "delivered, and a rerun sends only what is missing:\n  - " + "\n  - ".join(result.failures)
            )
    return _jsonable({"totals": detail["totals"], "warnings": result.warnings})
