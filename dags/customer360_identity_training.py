"""customer360_identity_training: train the next version of the identity match model, once a month.

Wiring only: the task calls ``customer360.pipeline.train_identity_model``. Heavy libraries (duckdb, Splink)
are imported inside it, never when this file is parsed.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from airflow.sdk import dag, get_current_context, task

WAREHOUSE_POOL = "customer360_warehouse"  # the daily DAG's one-slot pool: training never meets another writer
# Seconds before a retry; tests and interactive runs may shorten it (an environment read, no I/O).
RETRY_DELAY = timedelta(seconds=int(os.environ.get("CUSTOMER360_RETRY_DELAY_SECONDS", "300")))

DOC_MD = """
### customer360_identity_training
On the first of each month: train the next version of the identity match model (Splink: m by expectation
maximisation, u from random pairs with a fixed seed) on the contact records observed in the training window
(`CUSTOMER360_IDENTITY_TRAINING_WINDOW_DAYS` up to the run's date), and save it under
`<home>/models/identity/identity-model-vNNNN.json`. The daily runs use it from their next run on (a full
resolution, whose splits and merges name the rule-set change); `CUSTOMER360_IDENTITY_MODEL_VERSION` pins a
version instead. See docs/identity.md.
"""


@dag(
    dag_id="customer360_identity_training",
    schedule="@monthly",
    start_date=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
    catchup=False,
    max_active_runs=1,
    tags=["customer360", "identity", "training"],
    doc_md=DOC_MD,
    default_args={
        "owner": "customer360",
        "retries": 2,
        "retry_delay": RETRY_DELAY,
        "pool": WAREHOUSE_POOL,
    },
)
def customer360_identity_training():
    @task
    def train_identity_model() -> dict:
        from customer360.pipeline import train_identity_model as train

        context = get_current_context()
        moment = context.get("logical_date") or context["data_interval_start"]
        return train(moment.date(), context["run_id"])

    train_identity_model()


customer360_identity_training()
