"""Finding and stopping every process of a run.

ansible-playbook's workers call setsid, so a run's processes do not share a process
group. They do share their environment: each run sets `MARKER_VARIABLE` to its own
value, and every descendant inherits it, whatever its session.
"""

from __future__ import annotations

import logging
import os
import signal
import time

from app.processes import marked_processes, parent_of, signal_all

log = logging.getLogger(__name__)

MARKER_VARIABLE = "PLAYDECK_RUN_MARKER"


def run_processes(marker: str) -> list[int]:
    """Process ids whose environment carries the run's marker."""
    return marked_processes(MARKER_VARIABLE, marker)


def terminate_children(marker: str) -> list[int]:
    """Ask the run's top processes (children of this one) to stop with SIGTERM."""
    me = os.getpid()
    top = [pid for pid in run_processes(marker) if parent_of(pid) == me]
    signal_all(top, signal.SIGTERM)
    return top


def kill_all(marker: str, attempts: int = 20) -> int:
    """SIGKILL every process of the run until none is left; return how many."""
    killed: set[int] = set()
    for _ in range(attempts):
        pids = run_processes(marker)
        if not pids:
            break
        signal_all(pids, signal.SIGKILL)
        killed.update(pids)
        time.sleep(0.05)
    else:
        log.warning("processes of run marker=%s survive SIGKILL", marker)
    return len(killed)
