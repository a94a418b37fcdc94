"""Real Playdeck processes for the fault tests: workers, the scheduler, waiting.

from processes import start, stop, wait_for
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from app.config import Settings
from app.extensions import db
from app.models import Run
from app.processes import parent_of
from app.runner import process

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a Playdeck process on the test's database and Redis."""
    return dict(
        os.environ,
        PLAYDECK_INSTANCE_DIR=str(settings.instance_dir),
        PLAYDECK_DATABASE_URL=settings.database_url,
        PLAYDECK_REDIS_URL=settings.redis_url,
        PLAYDECK_SECRET_KEY=settings.secret_key,
        PLAYDECK_STOP_GRACE=str(settings.stop_grace),
        **extra,
    )


def start(
    settings: Settings, args: list[str], log: Path, **extra: str
) -> subprocess.Popen[bytes]:
    """`python <args>` in the repository, its output into `log`."""
    with open(log, "ab") as output:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=environment(settings, **extra),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(predicate: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def status(run_id: int) -> str:
    """The run's status as the database has it now."""
    db.session.expire_all()
    return db.session.get(Run, run_id).status


def command_runs(marker: str, command: bytes = b"sleep") -> bool:
    """Whether one of the run's processes executes `command` (ansible's module)."""
    for pid in process.run_processes(marker):
        try:
            if command in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def work_horse(marker: str) -> int:
    """The work-horse executing a run: the parent of its top ansible process.

    The horse carries no marker (it was forked, not started, by the worker).
    """
    pids = process.run_processes(marker)
    horses = {parent_of(pid) for pid in pids} - set(pids) - {None}
    assert len(horses) == 1, horses
    return horses.pop()  # type: ignore[return-value]


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
