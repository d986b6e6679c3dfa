"""Task logs of runs started by ``customer360 run``, where the Airflow UI reads them.

``airflow dags test`` runs every task in its own process and logs to standard output (our ``airflow.log``),
not to the per-try files under ``[logging] base_log_folder`` that the UI's ``FileTaskHandler`` reads; for
a finished task with no file there it asks the worker's log server, which does not exist, and says the log
was not found. After the DAG process ends, ``customer360 run`` cuts its part of ``airflow.log`` at the
``[DAG TEST] starting task_id=...`` / ``[DAG TEST] end task task_id=...`` lines Airflow writes around each try
and writes each try to the file name the UI renders for it (``python -m customer360.airflow_task_logs``,
run with the embedded Airflow's environment).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

_START = re.compile(r"\[DAG TEST\] starting task_id=(?P<task>\S+) map_index=(?P<map>-?\d+)")
_RUN_ID = re.compile(
    r"\[DAG TEST\] running task <TaskInstance: (?P<dag>[^.\s]+)\.(?P<task>\S+) (?P<run>\S+) \["
)
_END = re.compile(r"\[DAG TEST\] end task task_id=(?P<task>\S+) map_index=(?P<map>-?\d+)")


@dataclass
class TaskTry:
    """The log lines of one try of one task instance, as ``airflow dags test`` printed them."""

    task_id: str
    map_index: int
    dag_id: str = ""
    run_id: str = ""
    lines: list[str] = field(default_factory=list)


def split_task_tries(text: str) -> list[TaskTry]:
    """Each task try in ``text`` (a ``dags test`` output), in order; lines outside any try are left out."""
    tries: list[TaskTry] = []
    current: TaskTry | None = None
    for line in text.splitlines():
        start = _START.search(line)
        if start:
            current = TaskTry(start["task"], int(start["map"]))
            tries.append(current)
        if current is None:
            continue
        current.lines.append(line)
        run = _RUN_ID.search(line)
        if run and run["task"] == current.task_id and not current.run_id:
            current.dag_id, current.run_id = run["dag"], run["run"]
        end = _END.search(line)
        if end and end["task"] == current.task_id:
            current = None
    return [t for t in tries if t.run_id]


def write_task_logs(text: str) -> list[Path]:
    """Write each task try of ``text`` to the file Airflow's UI reads for it; returns the files written.

    Needs the Airflow environment of the run (metadata database, ``base_log_folder``). The k-th try of a
    task in ``text`` is numbered back from the task instance's try number, the last one being that number.
    """
    from airflow.configuration import conf
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.log.file_task_handler import FileTaskHandler
    from airflow.utils.session import create_session
    from sqlalchemy import select

    base = Path(conf.get("logging", "base_log_folder"))
    handler = FileTaskHandler(base_log_folder=str(base))
    tries = split_task_tries(text)
    by_instance: dict[tuple[str, str, str, int], list[TaskTry]] = {}
    for item in tries:
        by_instance.setdefault((item.dag_id, item.run_id, item.task_id, item.map_index), []).append(item)
    written: list[Path] = []
    with create_session() as session:
        for (dag_id, run_id, task_id, map_index), items in by_instance.items():
            ti = session.scalar(
                select(TaskInstance).where(
                    TaskInstance.dag_id == dag_id,
                    TaskInstance.run_id == run_id,
                    TaskInstance.task_id == task_id,
                    TaskInstance.map_index == map_index,
                )
            )
            if ti is None:
                continue
            last = max(ti.try_number, len(items))
            for offset, item in enumerate(items):
                try_number = last - (len(items) - 1 - offset)
                path = base / handler._render_filename(ti, try_number, session=session)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("\n".join(item.lines) + "\n", encoding="utf-8")
                written.append(path)
    return written


def main(argv: list[str]) -> int:
    """``python -m customer360.airflow_task_logs <airflow.log> <offset>``: the part of the log from byte
    ``offset`` on (this run's), written as task logs."""
    log, offset = Path(argv[0]), int(argv[1])
    with log.open("rb") as fh:
        fh.seek(offset)
        text = fh.read().decode("utf-8", errors="replace")
    written = write_task_logs(text)
    print(f"{len(written)} task log file(s) written for the Airflow UI")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
