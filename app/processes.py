"""Finding processes by a variable in their environment, and signalling them.

Processes that call setsid leave their parent's process group and session, but
keep the environment they were started with, and so do their children. A
variable with a value of our own is therefore the one mark that follows every
descendant of a process we started.

Such variables are named `..._MARKER`: they hold no secret, and whatever
cleans an environment for a child keeps them, so that the mark still follows.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

MARKER_SUFFIX = "_MARKER"


def marked_processes(variable: str, value: str) -> list[int]:
    """Live processes other than this one whose environment has variable=value."""
    needle = f"{variable}={value}".encode()
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        # A zombie's environment reads empty: it is dead, only not yet reaped.
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: read after it.
    return int(stat.rsplit(")", 1)[1].split()[1])
