"""A warm parent for stage processes: imports the heavy third-party libraries once, then forks one child per
request, and each child runs ``stage_runner.main`` as a fresh ``python stage_runner.py ...`` would.

Airflow 3's task supervisor and Celery's prefork pool start tasks the same way (a fork of a parent that has
imported the libraries but run no task). The server never runs a stage and never reads a setting, so a
child starts without any pipeline state: its environment, working folder and output files are the
request's, it imports customer360 itself, and it ends with a normal interpreter exit. What it saves is the
import of Great Expectations, dbt and scikit-learn in every process, which on the reliability tests'
small data cost more than the stages themselves.

Protocol (``pipeline_run.StageServer`` is the client), one JSON object per line:
request on stdin ``{"argv", "env", "cwd", "stdout", "stderr"}``; replies on stdout ``{"pid"}`` when the
child started, then ``{"pid", "returncode"}`` when it ended (negative: killed by that signal). The server
ends when its stdin closes.
"""

from __future__ import annotations

import importlib
import json
import os
import sys

PRELOAD = (
    "great_expectations",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "sklearn.ensemble",
    "scipy.optimize",
    "pandas",
    "pyarrow.parquet",
    "duckdb",
)


def _child(request: dict) -> int:
    """In the forked child: become the request's process, then run the stages."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = ["stage_runner.py", *request["argv"]]
    import stage_runner

    return stage_runner.main(request["argv"])


def _reply(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    _reply({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            # A normal exit (atexit handlers, finalizers), as a process started on its own would end.
            sys.exit(_child(request))
        _reply({"pid": pid})
        _, status = os.waitpid(pid, 0)
        _reply({"pid": pid, "returncode": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    serve()
