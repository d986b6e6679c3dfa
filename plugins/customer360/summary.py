"""The run summary: what one run read, loaded, quarantined, checked and published, in figures and sentences.

Built from the run's progress events (written by each stage) and the warehouse's audit tables, written to
``<run dir>/summary.json``, and printed by ``customer360 run`` / ``customer360 summary``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from customer360.builds import BUILDS, INCREMENTAL_BUILDS
from customer360.landing.contract import CHANNELS
from customer360.progress import read_events
from customer360.settings import Settings

QUALITY_LAYERS = ("raw", "staging", "marts")


def _latest_by_stage(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        latest[event["stage"]] = event
    return latest


def _channel_summary(event: dict[str, Any] | None) -> dict[str, Any]:
    if event is None:
        return {"status": "not run"}
    if event["event"] == "error":
        return {"status": "failed", "error": event.get("error")}
    if event["event"] == "start":
        return {"status": "running or killed"}
    detail = event.get("detail", {})
    return {"status": "failed" if detail.get("failures") else "ok", **detail}


def _mart_counts(settings: Settings) -> dict[str, int]:
    from customer360.publish import current_database

    db = current_database(settings)
    if not db.exists():
        return {}
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute("select table_name from information_schema.tables order by 1").fetchall()
        ]
        return {n: con.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def _model_runs(latest: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The run's ``analytics.model_runs`` rows (``customer360.model_runs``), from the models stages' events:
    model, version, status (fitted, reused, skipped, failed), reason and the headline metric."""
    rows = []
    for name in ("models:clv", "models:churn"):
        event = latest.get(name) or {}
        for row in (event.get("detail") or {}).get("model_runs") or []:
            metrics = row.get("metrics") or {}
            headline = {
                key: metrics.get(key)
                for key in ("auc", "precision_top_decile", "holdout_relative_error")
                if metrics.get(key) is not None
            }
            rows.append(
                {
                    "model": row.get("model"),
                    "version": row.get("version"),
                    "status": row.get("status"),
                    "reason": row.get("reason") or "",
                    **headline,
                }
            )
    return rows


def _ingest_warnings(settings: Settings, logical_date: date, channels: dict[str, Any]) -> list[str]:
    """Every ingest warning of the run, one line each with its reason: files ignored or skipped as
    duplicates, schema drift, quarantined rows, and channels with no landing folder for the date."""
    warnings: list[str] = []
    day = logical_date.isoformat()
    missing = [name for name in channels if not (settings.landing_root / name / day).is_dir()]
    if channels and len(missing) == len(channels):
        warnings.append(
            f"ingest: no landing files for {day} in any channel (under {settings.landing_root}): "
            "nothing new was loaded, and the marts show the data of earlier dates"
        )
    else:
        warnings.extend(
            f"ingest {name}: no landing folder for {day} ({settings.landing_root / name / day})"
            for name in missing
        )
    for name, info in channels.items():
        ignored = info.get("ignored") or []
        if ignored:
            warnings.append(f"ingest {name}: {len(ignored)} file(s) under the landing root ignored:")
            warnings.extend(f"ingest {name}: {entry}" for entry in ignored)
        warnings.extend(
            f"ingest {name}: duplicate file skipped: {entry}" for entry in info.get("duplicates") or []
        )
        warnings.extend(f"ingest {name}: schema drift: {note}" for note in info.get("drift") or [])
        quarantined = info.get("rows_quarantined") or 0
        if quarantined:
            warnings.append(
                f"ingest {name}: {quarantined:,} row(s) quarantined, each with its file, line, column and "
                f"reason in the warehouse's audit.quarantine (where channel = '{name}')"
            )
    return warnings


def retry_warnings(events: list[dict[str, Any]]) -> list[str]:
    """One line per failed attempt of a stage that Airflow then ran again, with the attempt's error."""
    warnings: list[str] = []
    attempts: dict[str, int] = {}
    pending: dict[str, str] = {}  # stage -> error of its last attempt, until it starts again
    for event in events:
        name = event["stage"]
        if event["event"] == "start":
            attempts[name] = attempts.get(name, 0) + 1
            if name in pending:
                warnings.append(
                    f"{name}: attempt {attempts[name] - 1} failed and was retried: {pending.pop(name)}"
                )
        elif event["event"] == "error":
            pending[name] = event.get("error") or "unknown error"
    return warnings


def build_summary(settings: Settings, logical_date: date, run_id: str) -> dict[str, Any]:
    run_dir = settings.run_dir(logical_date.isoformat())
    events = read_events(run_dir, run_id)
    latest = _latest_by_stage(events)
    problems: list[str] = []

    channels = {name: _channel_summary(latest.get(f"ingest:{name}")) for name in CHANNELS}
    for name, info in channels.items():
        if info["status"] == "failed":
            failures = info.get("failures") or [info.get("error", "unknown error")]
            problems.extend(f"ingest {name}: {f}" for f in failures)
        elif info["status"] != "ok":
            problems.append(f"ingest {name}: {info['status']}")
    warnings = _ingest_warnings(settings, logical_date, channels)
    quality: dict[str, Any] = {}
    for layer in QUALITY_LAYERS:
        event = latest.get(f"validate:{layer}")
        if event is None:
            quality[layer] = {"status": "not run"}
        elif event["event"] == "end":
            detail = event.get("detail", {})
            # A red gate ends its stage event normally and then stops the run.
            status = "ok" if detail.get("ok", True) else "failed"
            quality[layer] = {"status": status, **detail}
            if status == "failed":
                problems.extend(f"quality gate {layer}: {m}" for m in detail.get("critical_failures", []))
                problems.extend(
                    f"quality gate {layer} (broken check): {m}" for m in detail.get("error_messages", [])
                )
        else:
            quality[layer] = {"status": "failed", "error": event.get("error")}
            problems.append(f"quality gate {layer}: {event.get('error') or 'did not finish'}")

    for layer in QUALITY_LAYERS:
        warnings.extend(f"quality gate {layer}: {m}" for m in quality[layer].get("warning_messages", []))
    warnings.extend(retry_warnings(events))
    # Activation (customer360.activation): dead-lettered webhook batches are warnings; its totals are kept.
    activation = ((latest.get("activate") or {}).get("detail") or {}) if "activate" in latest else {}
    warnings.extend(activation.get("warnings", []))

    stages = []
    for name, event in latest.items():
        stages.append({"stage": name, "status": event["event"], "seconds": event.get("seconds")})
        if event["event"] == "error" and not name.startswith(("ingest:", "validate:")):
            problems.append(f"{name}: {event.get('error')}")

    publish_event = latest.get("publish")
    published = publish_event.get("detail", {}) if publish_event and publish_event["event"] == "end" else {}
    if published.get("published") is False:  # an older date than the current snapshot's (publish_older)
        warnings.append(f"publish: {published['warning']}")
    elif not published:
        problems.append("the marts were not published in this run; the last good snapshot is still current")
    elif published.get("held_back"):
        problems.append(
            "marts held back by failed checks (their last published version stays): "
            + ", ".join(published["held_back"])
        )

    builds = {
        build.name: ((latest.get(build.stage) or {}).get("detail") or {}).get("build")
        for build in BUILDS
        if build.incremental
    }
    identity_event = latest.get("identity")
    identity_detail = (identity_event or {}).get("detail", {}) if identity_event else {}
    identity_run = (
        {
            k: identity_detail.get(k)
            for k in (
                "mode",
                "mode_reason",
                "records",
                "records_resolved",
                "customers",
                "model_version",
                "model_trained",
            )
        }
        if identity_detail.get("mode")
        else None
    )
    models = _model_runs(latest)
    quality_docs = run_dir / "gx" / "data_docs" / "local_site" / "index.html"
    return {
        "logical_date": logical_date.isoformat(),
        "run_id": run_id,
        "status": "failed" if problems else "success",
        "problems": problems,
        "warnings": warnings,
        "channels": channels,
        "quality": quality,
        "stages": stages,
        **{f"{layer}_build": build for layer, build in builds.items()},
        "identity_run": identity_run,
        "activation": activation.get("totals"),
        "models": models,
        "marts": _mart_counts(settings),
        "published": published,
        "paths": {
            "warehouse": str(settings.warehouse_path),
            "published_database": published.get("database"),
            "published_snapshot": published.get("snapshot"),
            "quality_report": str(quality_docs),
            "quality_results": str(run_dir / "quality"),
            "run_report": str(run_dir / "report.html"),
            "run_dir": str(run_dir),
        },
    }


def write_summary(settings: Settings, logical_date: date, summary: dict[str, Any]) -> Path:
    path = settings.run_dir(logical_date.isoformat()) / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return path


def load_summary(settings: Settings, logical_date: date) -> dict[str, Any] | None:
    path = settings.run_dir(logical_date.isoformat()) / "summary.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def render_summary(summary: dict[str, Any]) -> None:
    """Print the summary as tables (rich)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    status = summary["status"]
    colour = "green" if status == "success" else "red"
    console.print(
        f"\n[bold]customer360 run for {summary['logical_date']}[/bold]: [{colour}]{status}[/{colour}]"
        f"  (run id {summary['run_id']})"
    )

    table = Table(title="Ingest per channel (files new/skipped, rows read = loaded + quarantined)")
    table.add_column("channel", no_wrap=True)
    for col in ("new", "skipped", "read", "loaded", "quarant.", "status"):
        table.add_column(col, justify="left" if col == "status" else "right", no_wrap=True)
    for name, info in summary["channels"].items():
        table.add_row(
            name,
            str(info.get("files_loaded", "-")),
            str(info.get("files_skipped", "-")),
            str(info.get("rows_read", "-")),
            str(info.get("rows_loaded", "-")),
            str(info.get("rows_quarantined", "-")),
            info["status"],
        )
    console.print(table)

    table = Table(title="Expectations per stage")
    for col in ("stage", "passed", "failed", "warnings", "errors", "status"):
        table.add_column(col)
    for layer, info in summary["quality"].items():
        table.add_row(
            layer,
            str(info.get("passed", "-")),
            str(info.get("failed", "-")),
            str(info.get("warnings", "-")),
            str(info.get("errors", "-")),
            info["status"],
        )
    console.print(table)

    if summary["marts"]:
        table = Table(title="Published marts (the current snapshot)")
        table.add_column("mart")
        table.add_column("rows", justify="right")
        for name, count in summary["marts"].items():
            table.add_row(name, f"{count:,}")
        console.print(table)

    for layer in INCREMENTAL_BUILDS:
        build = summary.get(f"{layer}_build")
        if build:
            console.print(f"{layer + ' layer:':<18}{build['mode']} ({build['reason']})")
    identity = summary.get("identity_run")
    if identity:
        console.print(
            f"identity:         {identity['mode']} ({identity['mode_reason']}): "
            f"{identity['records_resolved']:,} of {identity['records']:,} records resolved, "
            f"{identity['customers']:,} customers"
        )
        if identity.get("model_version"):
            trained = " (trained by this run: no model existed)" if identity.get("model_trained") else ""
            console.print(f"match model:      v{identity['model_version']}{trained}")
    models = summary.get("models") or []
    if models:
        table = Table(title="Models (analytics.model_runs: fitted, reused, skipped or failed)")
        for col in ("model", "version", "status", "metric", "reason"):
            table.add_column(col, overflow="fold")
        for row in models:
            metric = "; ".join(
                f"{key} {row[key]:.3f}"
                for key in ("auc", "precision_top_decile", "holdout_relative_error")
                if isinstance(row.get(key), int | float)
            )
            colour = "red" if row["status"] == "failed" else "yellow" if row["status"] == "skipped" else ""
            status = f"[{colour}]{row['status']}[/{colour}]" if colour else row["status"]
            version = row.get("version") or "-"
            table.add_row(row["model"], version, status, metric or "-", row["reason"] or "-")
        console.print(table)
    act = summary.get("activation")
    if act:
        console.print(
            f"activation:       {act['members']:,} audience members ({act['entered']:,} entered, "
            f"{act['exited']:,} exited, {act['changed']:,} changed); {act['file_rows_written']:,} file rows, "
            f"{act['webhook_events_sent']:,} webhook events in {act['webhook_batches_sent']:,} batches "
            f"({act['webhook_retries']:,} retries, {act['webhook_dead_letters']:,} dead-lettered), "
            f"{act['postgres_upserted']:,} rows upserted and {act['postgres_deleted']:,} deleted "
            "in PostgreSQL"
            + (
                f", {act['postgres_removed']:,} rows of audiences no longer in the file removed"
                if act.get("postgres_removed")
                else ""
            )
            + (
                f", {act['webhook_exits_of_removed_audiences']:,} exits sent to webhooks of audiences no "
                "longer in the file"
                if act.get("webhook_exits_of_removed_audiences")
                else ""
            )
        )
    for problem in summary["problems"]:
        console.print(f"[red]problem:[/red] {problem}")
    for warning in summary.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {warning}")
    paths = summary["paths"]
    console.print(f"warehouse:        {paths['warehouse']}")
    console.print(f"published marts:  {paths.get('published_database') or '(not published)'}")
    console.print(f"quality report:   {paths['quality_report']}")
    console.print(f"run report:       {paths['run_report']}")
    console.print(f"run folder:       {paths['run_dir']}")
