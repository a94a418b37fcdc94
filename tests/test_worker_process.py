"""The worker as users start it (`python worker.py`), stopped the hard way."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from app.extensions import db
from app.models import Run, RunStatus
from app.processes import parent_of
from app.runner import process
from app.runner.spec import run_marker
from app.services import runs

pytestmark = [pytest.mark.slow, pytest.mark.all_databases]


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _status(run: Run) -> str:
    db.session.expire_all()
    return db.session.get(Run, run.id).status


def _sleeping_run(make, settings) -> tuple[Run, str]:
    run = runs.launch(make.job(module="command", args="sleep 300"))
    marker = run_marker(run.id, settings.database_url)
    _wait_for(lambda: _status(run) == RunStatus.RUNNING, 60, "the run to start")
    # The command itself runs once ansible has forked its worker and the module.
    _wait_for(
        lambda: any(
            b"sleep" in Path(f"/proc/{pid}/cmdline").read_bytes()
            for pid in process.run_processes(marker)
            if Path(f"/proc/{pid}/cmdline").exists()
        ),
        60,
        "the sleep command",
    )
    return run, marker


def test_killed_work_horse_ends_the_run_error_and_leaves_no_process(
    app, settings, make, worker_process
):
    run, marker = _sleeping_run(make, settings)
    ansible = [pid for pid in process.run_processes(marker) if _parent(pid) is not None]
    horse = {_parent(pid) for pid in ansible} - set(ansible)
    assert len(horse) == 1, horse

    os.kill(horse.pop(), signal.SIGKILL)

    _wait_for(lambda: _status(run) == RunStatus.ERROR, 30, "the run to end error")
    ended = db.session.get(Run, run.id)
    assert "stopped unexpectedly" in ended.error
    assert ended.finished_at is not None
    _wait_for(lambda: not process.run_processes(marker), 10, "no process left")
    assert worker_process.poll() is None, "the worker itself carries on"


def test_cancel_of_a_running_run_stops_every_process(
    app, settings, make, worker_process
):
    run, marker = _sleeping_run(make, settings)

    started = time.monotonic()
    assert runs.cancel(db.session.get(Run, run.id))

    _wait_for(lambda: _status(run) == RunStatus.CANCELED, 30, "the run to cancel")
    assert time.monotonic() - started < settings.stop_grace + 10
    assert not process.run_processes(marker)
    ended = db.session.get(Run, run.id)
    assert "canceled" in ended.error


def _parent(pid: int) -> int | None:
    return parent_of(pid)
