"""customer360_daily: every channel's landing files for one day → trusted customer marts.

Wiring only: each task calls one function of ``customer360.pipeline``. Heavy libraries (pandas, duckdb,
Great Expectations, dbt) are imported inside those functions, never when this file is parsed.
"""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from airflow.sdk import Asset, CronDataIntervalTimetable, TriggerRule, dag, get_current_context, task

from customer360.builds import BUILDS
from customer360.landing.contract import CHANNELS
from customer360.settings import Settings

WAREHOUSE_POOL = "customer360_warehouse"  # one slot: DuckDB allows one writer per file
PUBLISHED_MARTS = Asset("customer360://published/marts")
# Seconds before a retry; tests and interactive runs may shorten it (an environment read, no I/O).
RETRY_DELAY = timedelta(seconds=int(os.environ.get("CUSTOMER360_RETRY_DELAY_SECONDS", "120")))
# The scheduled window (CUSTOMER360_SCHEDULE_START / _END; environment reads, no I/O).
_SETTINGS = Settings()
UTC = ZoneInfo("UTC")
START_DATE = datetime.combine(_SETTINGS.schedule_start, time(), tzinfo=UTC)
END_DATE = datetime.combine(_SETTINGS.schedule_end, time(), tzinfo=UTC) if _SETTINGS.schedule_end else None

DOC_MD = """
### customer360_daily
One run per day `D` (data interval `[D, D+1)` UTC, starting after `D` ends):
ingest each channel → GX raw → dbt staging → GX staging → identity → dbt core marts → CLV and churn models
→ dbt analytics marts → GX marts → publish the snapshot → activate the audiences → summary.

A red critical expectation stops everything downstream; the last published snapshot stays in place.
Run folder: `var/runs/<D>/` (progress, quality results, Data Docs, summary, report).
"""


def _logical_date():
    """The day this run processes, and the run id.

    Scheduled runs: the logical date is the start of the data interval [D, D+1), i.e. D. Manual runs
    (``airflow dags test customer360_daily D``, a trigger with a logical date): D as given. A run triggered
    without a logical date processes the day its data interval starts.
    """
    context = get_current_context()
    moment = context.get("logical_date") or context["data_interval_start"]
    return moment.date(), context["run_id"]


def _fail_fast(exc: Exception) -> None:
    """Errors a retry cannot fix (bad data, unreadable files) fail the task at once."""
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(str(exc)) from exc


@dag(
    dag_id="customer360_daily",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=START_DATE,
    end_date=END_DATE,
    catchup=True,
    max_active_runs=1,
    max_active_tasks=1,
    tags=["customer360", "idic", "daily"],
    doc_md=DOC_MD,
    default_args={
        "owner": "customer360",
        "retries": 2,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": True,
        "pool": WAREHOUSE_POOL,
    },
)
def customer360_daily():
    @task(retries=2)
    def ingest(channel: str) -> dict:
        from customer360 import pipeline

        logical_date, run_id = _logical_date()
        try:
            return pipeline.ingest(channel, logical_date, run_id)
        except pipeline.ChannelIngestError as exc:
            _fail_fast(exc)

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def validate(layer: str) -> dict:
        from customer360 import pipeline

        logical_date, run_id = _logical_date()
        try:
            return pipeline.validate(layer, logical_date, run_id)
        except pipeline.QualityGateError as exc:
            _fail_fast(exc)

    @task(retries=1)
    def build(name: str) -> dict:
        from customer360 import pipeline
        from customer360.lineage.airflow_parent import task_as_parent

        logical_date, run_id = _logical_date()
        with task_as_parent():  # the dbt models' OpenLineage events name this task as their parent
            return pipeline.build_layer(name, logical_date, run_id)

    @task(retries=1)
    def resolve_identity() -> dict:
        from customer360 import pipeline

        logical_date, run_id = _logical_date()
        return pipeline.resolve_identity(logical_date, run_id)

    @task(retries=1)
    def fit_models() -> dict:
        from customer360 import pipeline

        logical_date, run_id = _logical_date()
        return pipeline.fit_models(logical_date, run_id)

    @task(retries=1, outlets=[PUBLISHED_MARTS])
    def publish() -> dict:
        from customer360 import pipeline

        logical_date, run_id = _logical_date()
        try:
            return pipeline.publish(logical_date, run_id)
        except pipeline.PublishWithheldError as exc:
            _fail_fast(exc)

    @task(retries=1)
    def activate() -> dict:
        from customer360 import pipeline

        logical_date, run_id = _logical_date()
        return pipeline.activate(logical_date, run_id)

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def summarize() -> dict:
        from customer360 import pipeline

        logical_date, run_id = _logical_date()
        try:
            return pipeline.summarize(logical_date, run_id)
        except pipeline.RunFailedError as exc:
            _fail_fast(exc)

    ingested = [ingest.override(task_id=f"ingest_{name}")(name) for name in CHANNELS]
    raw_checked = validate.override(task_id="validate_raw")("raw")
    staged, core, analytics = (build.override(task_id=b.task_id)(b.name) for b in BUILDS)
    staging_checked = validate.override(task_id="validate_staging", trigger_rule=TriggerRule.ALL_SUCCESS)(
        "staging"
    )
    marts_checked = validate.override(task_id="validate_marts", trigger_rule=TriggerRule.ALL_SUCCESS)("marts")
    published = publish()
    summary = summarize()

    ingested >> raw_checked >> staged >> staging_checked >> resolve_identity() >> core
    core >> fit_models() >> analytics >> marts_checked >> published >> summary
    ingested >> summary
    published >> activate() >> summary


customer360_daily()
