"""Finding and stopping every process of a run.

ansible-playbook's workers call setsid, so a run's processes do not share a process
group. They do share their environment: each run sets `MARKER_VARIABLE` to its own
value, and every descendant inherits it, whatever its session.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from pathlib import Path

log = logging.getLogger(__name__)

MARKER_VARIABLE = "PLAYDECK_RUN_MARKER"


def run_processes(marker: str) -> list[int]:
    """Process ids whose environment carries the run's marker."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or a zombie: nothing to stop
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def terminate_children(marker: str) -> list[int]:
    """Ask the run's top processes (children of this one) to stop with SIGTERM."""
    me = os.getpid()
    top = [pid for pid in run_processes(marker) if _parent(pid) == me]
    _signal_all(top, signal.SIGTERM)
    return top


def kill_all(marker: str, attempts: int = 20) -> int:
    """SIGKILL every process of the run until none is left; return how many."""
    killed: set[int] = set()
    for _ in range(attempts):
        pids = [pid for pid in run_processes(marker) if pid != os.getpid()]
        if not pids:
            break
        _signal_all(pids, signal.SIGKILL)
        killed.update(pids)
        time.sleep(0.05)
    else:
        log.warning("processes of run marker=%s survive SIGKILL", marker)
    return len(killed)


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: read after it.
    return int(stat.rsplit(")", 1)[1].split()[1])
