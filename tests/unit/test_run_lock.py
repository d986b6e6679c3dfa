"""One run at a time per home: the ``flock`` on ``<home>/run.lock``, held across processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from customer360.run_lock import EXIT_LOCKED, RunLockedError, run_lock
from customer360.settings import Settings

HOLDER = textwrap.dedent(
    """
    import sys, subprocess, time
    from datetime import date
    from pathlib import Path
    from customer360.run_lock import run_lock
    from customer360.settings import Settings

    home, mode = Path(sys.argv[1]), sys.argv[2]
    with run_lock(Settings(home=home), "customer360 run", date(2026, 12, 6),
                  argv=["customer360", "run", "--date", "2026-12-06"]) as lock:
        if mode == "child":
            # like `customer360 run`: the DAG process inherits the lock, then this process ends
            sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
            child = subprocess.Popen(sleeper, pass_fds=(lock.fd,))
            print(child.pid, flush=True)
            sys.exit(0)
        print("locked", flush=True)
        time.sleep(60)
    """
)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMER360_")}
    env["CUSTOMER360_HOME"] = str(home)
    return env


def _start_holder(home: Path, mode: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home), mode],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(home),
    )
    first_line = process.stdout.readline().strip()
    return process, first_line


def _customer360(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "customer360.cli", *args],
        capture_output=True,
        text=True,
        env=_env(home),
        timeout=120,
    )


def test_given_a_run_holding_the_home_when_a_second_run_starts_then_it_stops_naming_the_holder(tmp_path):
    # GIVEN one process holding the home's run lock for 2026-12-06
    holder, line = _start_holder(tmp_path, "hold")
    assert line == "locked"
    try:
        # WHEN a second `customer360 run` (another process) starts in the same home
        second = _customer360(tmp_path, "run", "--date", "2026-12-07", "--no-generate")
        # THEN it stops at once, before touching anything, and names the holding run
        assert second.returncode == EXIT_LOCKED, second.stderr
        assert "another customer360 run holds the lock" in second.stderr
        assert "customer360 run for 2026-12-06" in second.stderr
        assert f"pid {holder.pid}," in second.stderr
        assert "started at 20" in second.stderr
        assert "command `customer360 run --date 2026-12-06`" in second.stderr
        assert not (tmp_path / "runs").exists()
        # AND a command that writes the warehouse is refused the same way
        stage = _customer360(tmp_path, "stage", "publish", "--date", "2026-12-07")
        assert stage.returncode == EXIT_LOCKED
        assert "customer360 stage: another customer360 run holds the lock" in stage.stderr
    finally:
        # WHEN the holder dies without cleaning up (SIGKILL)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    # THEN the OS has released the lock: the next run takes it and records itself
    with run_lock(Settings(home=tmp_path), "customer360 run", None, argv=["customer360", "run"]) as lock:
        assert lock.holder["pid"] == os.getpid()


def test_given_a_run_whose_dag_process_outlives_it_then_the_home_stays_locked_until_that_ends(tmp_path):
    # GIVEN a run that passed the lock to a child (its DAG process) and then ended
    holder, child_pid = _start_holder(tmp_path, "child")
    holder.wait(timeout=30)
    try:
        # WHEN another run starts
        with pytest.raises(RunLockedError) as raised:
            with run_lock(Settings(home=tmp_path), "customer360 run"):
                pass
        # THEN it is refused, and told the recorded process has ended but a process it started runs on
        assert f"pid {holder.pid}, now ended: a process it started still runs" in str(raised.value)
    finally:
        os.kill(int(child_pid), signal.SIGKILL)
    # AND once the child has gone the lock is free (the kernel released it, no file to clean)
    for _ in range(100):
        try:
            with run_lock(Settings(home=tmp_path), "customer360 run"):
                break
        except RunLockedError:
            time.sleep(0.05)
    else:
        pytest.fail("the lock was not released after its last holder ended")
    assert (tmp_path / "run.lock").exists()


def test_given_an_erasure_command_when_it_holds_the_lock_then_the_lock_file_keeps_no_personal_data(
    tmp_path, monkeypatch
):
    # GIVEN `customer360 erase --email ... --phone ...` (it writes the warehouse, so it takes the lock)
    from customer360 import cli
    from customer360.settings import get_settings

    seen = {}

    def fake_erase(args):
        seen["holder"] = (tmp_path / "run.lock").read_text(encoding="utf-8")
        return 0

    monkeypatch.setenv("CUSTOMER360_HOME", str(tmp_path))
    get_settings.cache_clear()
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    for action in parser._subparsers._group_actions[0].choices.values():
        if action.get_default("func") and action.get_default("func").__name__ == "erase_command":
            fake_erase.__module__ = "customer360.privacy.commands"
            fake_erase.__qualname__ = "erase_command"
            action.set_defaults(func=fake_erase)
    try:
        # WHEN it runs
        assert cli.main(["erase", "--email", "jane@example.com", "--phone", "+31612345678"]) == 0
    finally:
        get_settings.cache_clear()
    # THEN the lock named the command while it ran, but none of its arguments
    assert '"command": "customer360 erase"' in seen["holder"]
    text = (tmp_path / "run.lock").read_text(encoding="utf-8")
    assert "jane@example.com" not in text + seen["holder"] and "+31612345678" not in text + seen["holder"]
