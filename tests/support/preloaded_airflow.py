"""``python preloaded_airflow.py <arguments>``: the ``airflow`` command, in a process that has imported the
pipeline's heavy libraries first (``stage_server.PRELOAD``).

``airflow_scheduler.running_airflow`` starts the scheduler this way. Its LocalExecutor workers are forked
from it and fork one process per task (Airflow 3's task supervisor, on Linux), so every task starts with
Great Expectations, dbt and scikit-learn already imported and without any pipeline state, as the stage
processes of ``pipeline_run`` do; the scheduler itself never runs a stage. Without it each task of a catchup
run imports them again, and a catchup over three dates spends much of its time on imports.
"""

from __future__ import annotations

import importlib
import sys

from stage_server import PRELOAD


def main() -> int:
    for name in PRELOAD:  # before Airflow configures logging, as a task process would import them
        importlib.import_module(name)
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", *sys.argv[1:]]
    return airflow_main()


if __name__ == "__main__":
    sys.exit(main())
