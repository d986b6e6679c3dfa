"""The run summary: what one run read, loaded, quarantined, checked and published, in figures and sentences.

Built from the run's progress events (written by each stage) and the warehouse's audit tables, written to
``<run dir>/summary.json``, and printed by ``customer360 run`` / ``customer360 summary``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from customer360.incremental import INCREMENTAL_LAYERS
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

    stages = []
    for name, event in latest.items():
        stages.append({"stage": name, "status": event["event"], "seconds": event.get("seconds")})
        if event["event"] == "error" and not name.startswith(("ingest:", "validate:")):
            problems.append(f"{name}: {event.get('error')}")

    publish_event = latest.get("publish")
    published = publish_event.get("detail", {}) if publish_event and publish_event["event"] == "end" else {}
    if not published:
        problems.append("the marts were not published in this run; the last good snapshot is still current")
    elif published.get("held_back"):
        problems.append(
            "marts held back by failed checks (their last published version stays): "
            + ", ".join(published["held_back"])
        )

    builds = {
        layer: ((latest.get(f"dbt:{layer}") or {}).get("detail") or {}).get("build")
        for layer in INCREMENTAL_LAYERS
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
    quality_docs = run_dir / "gx" / "data_docs" / "local_site" / "index.html"
    return {
        "logical_date": logical_date.isoformat(),
        "run_id": run_id,
        "status": "failed" if problems else "success",
        "problems": problems,
        "channels": channels,
        "quality": quality,
        "stages": stages,
        **{f"{layer}_build": build for layer, build in builds.items()},
        "identity_run": identity_run,
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

    for layer in INCREMENTAL_LAYERS:
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
    for problem in summary["problems"]:
        console.print(f"[red]problem:[/red] {problem}")
    paths = summary["paths"]
    console.print(f"warehouse:        {paths['warehouse']}")
    console.print(f"published marts:  {paths.get('published_database') or '(not published)'}")
    console.print(f"quality report:   {paths['quality_report']}")
    console.print(f"run report:       {paths['run_report']}")
    console.print(f"run folder:       {paths['run_dir']}")
