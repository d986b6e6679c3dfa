"""customer360_erasure: process queued erasure requests ("right to be forgotten").

Wiring only: the task calls ``customer360.privacy.erasure.process_queue``. Requests are JSON files in
``<home>/erasure_requests/`` (``customer360 erase --queue-only --email ...``). Heavy libraries are imported
inside the task, never when this file is parsed.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from airflow.sdk import dag, task

WAREHOUSE_POOL = "customer360_warehouse"  # the daily DAG's one-slot pool: erasure never meets another writer
# Seconds before a retry; tests and interactive runs may shorten it (an environment read, no I/O).
RETRY_DELAY = timedelta(seconds=int(os.environ.get("CUSTOMER360_RETRY_DELAY_SECONDS", "300")))

DOC_MD = """
### customer360_erasure
Every hour: erase each queued person (`<home>/erasure_requests/*.json`) from the raw, staging, intermediate,
identity, marts, restricted and snapshot tables, every kept published snapshot, run folders and logs; add
their identifiers' salted hashes to the suppression list ingest consults; record `audit.erasure_log`
(no personal data). A failed request stays queued and the task fails (and retries).
"""


@dag(
    dag_id="customer360_erasure",
    schedule=timedelta(hours=1),
    start_date=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
    catchup=False,
    max_active_runs=1,
    tags=["customer360", "privacy", "erasure"],
    doc_md=DOC_MD,
    default_args={
        "owner": "customer360",
        "retries": 2,
        "retry_delay": RETRY_DELAY,
        "pool": WAREHOUSE_POOL,
    },
)
def customer360_erasure():
    @task
    def process_erasure_requests() -> list[dict]:
        from customer360.privacy.erasure import process_queue
        from customer360.settings import get_settings

        return [result.as_dict() for result in process_queue(get_settings())]

    process_erasure_requests()


customer360_erasure()
