"""Where a launch's time goes, from the API request until the status is seen.

    .venv/bin/python bench/phases.py [--launches 10]

It starts the same Playdeck as bench/run.py (Redis, SQLite, the web process and
one worker as the Procfile starts them), launches the 3-task playbook of the
launch figure one run at a time through the API, and prints the median of each
phase, from the times the run's row keeps: the API's answer, the work-horse
marking the run running, ansible until the status is written, and how late the
bench's own waiting sees it. BENCHMARKS.md uses it to say what stands between
the launch figure and its goal.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.extensions import db  # noqa: E402
from app.models import Run  # noqa: E402
from bench.figures import THREE_TASKS, local_hosts, playbook_job  # noqa: E402
from bench.stack import Stack  # noqa: E402

PHASES = {
    "api": "the API answers the launch",
    "to_running": "then the work-horse marks the run running",
    "running_to_end": "then ansible runs until the status is written",
    "seen": "then the bench sees the status",
}


def _epoch(moment: datetime) -> float:
    """The run's times are naive UTC."""
    return moment.replace(tzinfo=UTC).timestamp()


def measure(stack: Stack, launches: int) -> dict[str, list[float]]:
    stack.workers(1)
    job = playbook_job(stack, THREE_TASKS, local_hosts(stack, 1, "phases"))
    client = stack.api()
    found: dict[str, list[float]] = {name: [] for name in PHASES}
    for _ in range(launches):
        asked = time.time()
        run_id = stack.launch(client, job.id)
        answered = time.time()
        stack.wait_final([run_id])
        seen = time.time()
        run = db.session.get(Run, run_id)
        started, finished = _epoch(run.started_at), _epoch(run.finished_at)
        db.session.rollback()
        found["api"].append(answered - asked)
        found["to_running"].append(started - answered)
        found["running_to_end"].append(finished - started)
        found["seen"].append(seen - finished)
        # The worker is idle again, as before each launch of the launch figure.
        time.sleep(0.5)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=10)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="playdeck-phases-") as folder:
        stack = Stack(Path(folder))
        try:
            found = measure(stack, options.launches)
        finally:
            stack.close()
    print(f"median of {options.launches} launches of a 3-task playbook:")
    for name, what in PHASES.items():
        print(f"  {statistics.median(found[name]) * 1000:7.1f} ms  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
