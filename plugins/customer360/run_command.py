"""``customer360 run``: run the daily DAG for one logical date on the embedded default, with a progress
display and a summary at the end; plus ``summary``, ``stage`` and ``airflow-env``.

The DAG runs through ``airflow dags test`` (in-process executor, SQLite metadata, no server), so a run
from the command line is the same DAG, the same tasks and the same code as a scheduled run.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from customer360.cli_types import iso_date

DAG_ID = "customer360_daily"
# What `make run` generates when the landing folder is empty: small, but enough for every mart.
DEFAULT_DEMO = {"customers": 3000, "days": 180, "seed": 42}
PIPELINE_STAGES = (
    [f"ingest:{c}" for c in ("crm_contacts", "web_orders", "pos_transactions")]
    + [f"ingest:{c}" for c in ("support_tickets", "marketing_events", "surveys")]
    + ["validate:raw", "dbt:staging", "validate:staging", "identity", "dbt:core"]
    + ["models:clv", "models:churn", "dbt:analytics", "validate:marts", "publish"]
    + ["activate"]
)


def _landing_dates(landing_root: Path) -> list[date]:
    found: set[date] = set()
    if not landing_root.exists():
        return []
    for channel_dir in landing_root.iterdir():
        if not channel_dir.is_dir():
            continue
        for day_dir in channel_dir.iterdir():
            try:
                found.add(date.fromisoformat(day_dir.name))
            except ValueError:
                continue
    return sorted(found)


def default_run_date(landing_root: Path, today: date) -> date | None:
    """The date ``customer360 run`` runs without ``--date``: the latest landing date not after today (a
    stray folder dated in the future is not a reason to run for that day)."""
    from customer360.ingest.discovery import latest_landing_date

    return latest_landing_date(landing_root, today)


def _generate_demo(settings, args) -> None:
    """Demo data for an empty landing folder; ``DevToolsMissing`` where the generator is not installed."""
    from customer360.dev_tools import import_dev_module

    generate = import_dev_module("customer360_dev.datagen.generate", "generating demo data").generate
    end = args.date or (datetime.now(UTC).date() - timedelta(days=1))
    print(
        f"No landing data in {settings.landing_root}: generating {args.customers:,} customers over "
        f"{args.days} days (seed {args.seed}, ending {end})..."
    )
    started = time.perf_counter()
    generate(
        out=settings.landing_root,
        customers=args.customers,
        days=args.days,
        seed=args.seed,
        end_date=end,
    )
    print(f"  generated in {time.perf_counter() - started:.1f} s")


def task_id_of(stage: str) -> str:
    """The DAG task that records ``stage`` in the progress events (dags/customer360_daily.py)."""
    kind, _, arg = stage.partition(":")
    if kind == "identity":
        return "resolve_identity"
    if kind == "models":
        return "fit_models"
    return f"{kind}_{arg}" if arg else kind


def task_states(sql_alchemy_conn: str, run_id: str) -> dict[str, dict]:
    """State, try number and retries of each task instance of one run of the daily DAG, read from the
    Airflow metadata database the run writes (SQLite in the embedded mode); {} when it cannot be read yet."""
    import sqlalchemy as sa

    engine = sa.create_engine(sql_alchemy_conn, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "select task_id, state, try_number, max_tries from task_instance "
                    "where dag_id = :dag_id and run_id = :run_id"
                ),
                {"dag_id": DAG_ID, "run_id": run_id},
            ).fetchall()
    except sa.exc.SQLAlchemyError:
        return {}  # not migrated yet, or locked by the writer for a moment: ask again at the next poll
    finally:
        engine.dispose()
    return {r[0]: {"state": r[1], "try_number": r[2], "max_tries": r[3]} for r in rows}


def retry_announcements(
    states: dict[str, dict], events: list[dict], announced: set[tuple[str, int]]
) -> list[str]:
    """A line for each task Airflow has set to retry since the last call (``announced`` remembers them),
    with the error of the attempt that failed, from the progress events."""
    errors = {task_id_of(e["stage"]): e.get("error") for e in events if e["event"] == "error"}
    lines = []
    for task_id, info in sorted(states.items()):
        key = (task_id, info["try_number"])
        if info["state"] != "up_for_retry" or key in announced:
            continue
        announced.add(key)
        reason = errors.get(task_id) or "see the Airflow log"
        tries = max(info["max_tries"] + 1, info["try_number"])
        lines.append(
            f"{task_id} failed on try {info['try_number']} of {tries} and will be retried after Airflow's "
            f"retry delay: {reason}"
        )
    return lines


def _watch(process: subprocess.Popen, run_dir: Path, started_at: datetime, env: dict[str, str]) -> None:
    """Show which stage runs, how many are done, and the time taken, until the DAG process ends; announce
    each task Airflow retries, with the error of the attempt that failed."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from customer360.progress import read_events

    total = len(PIPELINE_STAGES)
    announced: set[tuple[str, int]] = set()
    polls = 0
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} stages"),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        bar = progress.add_task("starting Airflow", total=total)
        while True:
            finished = process.poll() is not None
            events = [e for e in read_events(run_dir) if str(e.get("at", "")) >= started_at.isoformat()]
            last = {e["stage"]: e["event"] for e in events}  # a retried stage starts again
            done = {name for name, event in last.items() if event in ("end", "error")}
            failed = [name for name, event in last.items() if event == "error"]
            running = [name for name, event in last.items() if event == "start"]
            description = running[-1] if running else ("finishing" if done else "starting Airflow")
            if failed:
                description += f" ([red]failed: {', '.join(sorted(set(failed)))}[/red])"
            progress.update(bar, completed=min(len(done), total), description=description)
            # Task states every few polls: a failed attempt is followed by a wait of minutes before its retry.
            if failed and events and polls % 4 == 0:
                states = task_states(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], events[-1]["run_id"])
                for line in retry_announcements(states, events, announced):
                    progress.console.print(f"[yellow]retry:[/yellow] {line}")
            polls += 1
            if finished:
                break
            time.sleep(0.5)


def run(args: argparse.Namespace) -> int:
    from customer360.run_lock import EXIT_LOCKED, RunLockedError, run_lock
    from customer360.settings import get_settings

    settings = get_settings()
    try:
        with run_lock(settings, "customer360 run", args.date) as lock:
            return _run_locked(args, settings, lock)
    except RunLockedError as exc:
        print(f"customer360 run: {exc}", file=sys.stderr)
        return EXIT_LOCKED


def _run_locked(args: argparse.Namespace, settings, lock) -> int:
    from customer360.airflow_setup import airflow_bin, ensure_airflow
    from customer360.dev_tools import DEV_PACKAGE, HOW_TO_GET, DevToolsMissing
    from customer360.run_lock import record_holder
    from customer360.summary import build_summary, load_summary, render_summary

    if not _landing_dates(settings.landing_root):
        if args.no_generate:
            print(f"no landing data under {settings.landing_root}", file=sys.stderr)
            return 2
        try:
            _generate_demo(settings, args)
        except DevToolsMissing:
            print(
                f"no landing data under {settings.landing_root}, and this install cannot generate demo data: "
                f"the generator is developer tooling ({DEV_PACKAGE}), which production installs leave out. "
                "Deliver the channels' files there (`customer360 contract` describes them). " + HOW_TO_GET,
                file=sys.stderr,
            )
            return 2
    logical_date = args.date or default_run_date(settings.landing_root, datetime.now(UTC).date())
    if logical_date is None:
        print(
            f"no landing date folder under {settings.landing_root} is on or before today: pass --date",
            file=sys.stderr,
        )
        return 2
    record_holder(lock, logical_date=logical_date.isoformat())
    run_dir = settings.run_dir(logical_date.isoformat())
    run_dir.mkdir(parents=True, exist_ok=True)
    log = run_dir / "airflow.log"

    print(f"Preparing Airflow (SQLite metadata in {settings.airflow_home})...")
    env = ensure_airflow(settings, log)
    if getattr(args, "publish_older", False):  # the publish task reads it (Settings.publish_older)
        env["CUSTOMER360_PUBLISH_OLDER"] = "true"
    print(f"Running DAG {DAG_ID} for {logical_date} (Airflow log: {log})")
    started_at = datetime.now(UTC)
    log_offset = log.stat().st_size if log.exists() else 0
    with log.open("a", encoding="utf-8") as fh:
        # The DAG process inherits the run lock: if this command is killed, the home stays locked until
        # the DAG run it started has ended too.
        process = subprocess.Popen(
            [airflow_bin(), "dags", "test", DAG_ID, logical_date.isoformat()],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            pass_fds=(lock.fd,),
        )
        try:
            _watch(process, run_dir, started_at, env)
        except KeyboardInterrupt:
            process.terminate()
            raise
    _write_task_logs(env, log, log_offset)
    summary_path = run_dir / "summary.json"
    fresh = summary_path.exists() and summary_path.stat().st_mtime >= started_at.timestamp()
    summary = load_summary(settings, logical_date) if fresh else None
    if summary is None:
        # The DAG died before its summary task: say what we know.
        from customer360.progress import read_events

        run_ids = [
            e["run_id"] for e in read_events(run_dir) if str(e.get("at", "")) >= started_at.isoformat()
        ]
        summary = build_summary(settings, logical_date, run_ids[-1] if run_ids else "unknown")
        summary["problems"].append(f"the DAG run did not complete (exit {process.returncode}); see {log}")
        summary["status"] = "failed"
    render_summary(summary)
    if process.returncode != 0 or summary["status"] != "success":
        print(f"\nThe run failed. Airflow's log: {log}", file=sys.stderr)
        return 1
    return 0


def _write_task_logs(env: dict[str, str], log: Path, offset: int) -> None:
    """Give the Airflow UI this run's task logs (customer360.airflow_task_logs explains why it has none)."""
    with log.open("a", encoding="utf-8") as fh:
        done = subprocess.run(
            [sys.executable, "-m", "customer360.airflow_task_logs", str(log), str(offset)],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        print(f"The task logs could not be written for the Airflow UI; see {log}", file=sys.stderr)


def latest_summary_date(runs_dir: Path) -> date | None:
    """The logical date of the run that finished last (its ``summary.json`` written last), or None.

    "Latest" is the latest run, not the latest date: after a backfill of an older date, ``customer360
    summary`` shows that backfill. Folders not named as a date are ignored.
    """
    if not runs_dir.exists():
        return None
    candidates: list[tuple[float, date]] = []
    for path in runs_dir.glob("*/summary.json"):
        try:
            day = date.fromisoformat(path.parent.name)
        except ValueError:
            continue
        candidates.append((path.stat().st_mtime, day))
    return max(candidates)[1] if candidates else None


def show_summary(args: argparse.Namespace) -> int:
    from customer360.settings import get_settings
    from customer360.summary import load_summary, render_summary

    settings = get_settings()
    day = args.date or latest_summary_date(settings.runs_dir)
    if day is None:
        print(
            f"no run summary under {settings.runs_dir}: no run has finished in this home yet; "
            "run `customer360 run` first",
            file=sys.stderr,
        )
        return 2
    summary = load_summary(settings, day)
    if summary is None:
        print(
            f"no run summary for {day} (no {settings.run_dir(day.isoformat()) / 'summary.json'}): "
            "run `customer360 run --date "
            f"{day}` first, or leave out --date for the latest run",
            file=sys.stderr,
        )
        return 2
    if args.date is None:
        print(f"The latest run: {day} (pass --date YYYY-MM-DD for another date)")
    render_summary(summary)
    return 0 if summary["status"] == "success" else 1


def run_stage(args: argparse.Namespace) -> int:
    """Run one stage in this process, without Airflow (debugging, benchmarks)."""
    from customer360 import pipeline

    run_id = args.run_id or f"cli__{datetime.now(UTC).isoformat()}"
    name, _, arg = args.stage.partition(":")
    functions = {
        "ingest": lambda: pipeline.ingest(arg, args.date, run_id),
        "validate": lambda: pipeline.validate(arg, args.date, run_id),
        "dbt": lambda: pipeline.build_layer(arg, args.date, run_id),
        "identity": lambda: pipeline.resolve_identity(args.date, run_id),
        "models": lambda: pipeline.fit_models(args.date, run_id),
        "publish": lambda: pipeline.publish(args.date, run_id),
        "activate": lambda: pipeline.activate(args.date, run_id),
        "summarize": lambda: pipeline.summarize(args.date, run_id),
    }
    if name not in functions:
        print(
            f"unknown stage {args.stage!r}; stages: {', '.join(PIPELINE_STAGES)}, summarize", file=sys.stderr
        )
        return 2
    result = functions[name]()
    print(result)
    return 0


def print_airflow_env(args: argparse.Namespace) -> int:
    from customer360.airflow_setup import airflow_env
    from customer360.settings import get_settings

    for key, value in sorted(airflow_env(get_settings(), base={}).items()):
        print(f"export {key}={shlex.quote(value)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help="run the daily DAG for one logical date (embedded Airflow)")
    p.add_argument(
        "--date", type=iso_date, help="logical date (default: the latest landing date not after today)"
    )
    p.add_argument("--no-generate", action="store_true", help="fail instead of generating demo data")
    p.add_argument("--customers", type=int, default=DEFAULT_DEMO["customers"], help="demo data: customers")
    p.add_argument("--days", type=int, default=DEFAULT_DEMO["days"], help="demo data: days of history")
    p.add_argument("--seed", type=int, default=DEFAULT_DEMO["seed"], help="demo data: random seed")
    p.add_argument(
        "--publish-older",
        action="store_true",
        help="make this date's snapshot current even when the current one is for a later date",
    )
    p.set_defaults(func=run)

    p = subparsers.add_parser("summary", help="print the summary of a run")
    p.add_argument("--date", type=iso_date, help="logical date (default: the latest run)")
    p.set_defaults(func=show_summary)

    p = subparsers.add_parser("stage", help="run one pipeline stage in this process, without Airflow")
    p.add_argument("stage", help=f"one of: {', '.join(PIPELINE_STAGES)}, summarize")
    p.add_argument("--date", type=iso_date, required=True)
    p.add_argument("--run-id")
    p.set_defaults(func=run_stage)

    p = subparsers.add_parser("airflow-env", help="print the environment of the embedded Airflow")
    p.set_defaults(func=print_airflow_env)
