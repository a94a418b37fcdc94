"""Measure how runs end when things fail, with Playdeck's shipped settings.

    .venv/bin/python bench/reliability.py [--only NAME ...] [--launches 200]

It starts a Redis server, a SQLite database (PLAYDECK_DATABASE_URL names another),
workers and the scheduler process of its own in a temporary folder, provokes
each failure for real against localhost, and prints one line per scenario: the
time until the runs' final status, the processes of stopped runs left behind,
the runs lost (never ended) and the runs executed twice. RELIABILITY.md records
the figures. The tests (tests/test_faults.py and others) assert the end states;
this measures the times, which depend on the machine.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The tests' helpers start processes and make rows the way the tests do.
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from rq import Worker  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import Event, Job, Run, RunStatus  # noqa: E402
from app.models.run import TERMINAL_STATUSES  # noqa: E402
from app.queue import run_queue  # noqa: E402
from app.runner import process  # noqa: E402
from app.runner.spec import run_marker  # noqa: E402
from app.services import runs  # noqa: E402
from bench.stack import Playdeck  # noqa: E402

import processes  # noqa: E402


@dataclass
class Figures:
    scenario: str
    runs: int
    # Seconds from the fault (or the request) to each run's final status.
    seconds: list[float] = field(default_factory=list)
    processes_left: int = 0
    lost: int = 0
    twice: int = 0
    note: str = ""

    def row(self) -> str:
        times = sorted(self.seconds)
        if not times:
            spread = "—"
        elif len(times) == 1:
            spread = f"{times[0]:.1f} s"
        else:
            spread = f"median {statistics.median(times):.1f} s, max {times[-1]:.1f} s"
        return (
            f"| {self.scenario} | {self.runs} | {spread} | {self.processes_left} "
            f"| {self.lost} | {self.twice} | {self.note} |"
        )


HEADER = (
    "| scenario | runs | until final status | processes left | runs lost "
    "| executed twice | notes |\n|---|---|---|---|---|---|---|"
)


class Bench(Playdeck):
    """A Playdeck of its own: Redis, database, workers and scheduler processes."""

    def close(self) -> None:
        for child in self.children:
            processes.stop(child)
        super().close()

    def workers(self, count: int) -> list:
        started = [self._start(["worker.py"], f"worker{n}") for n in range(count)]
        processes.wait_for(
            lambda: Worker.count(queue=run_queue()) >= count,
            60 + 3 * count,
            "the workers",
        )
        return started

    def scheduler(self):
        return self._start(["-m", "app.maintenance"], "scheduler")

    def _start(self, args: list[str], name: str):
        child = processes.start(self.settings, args, self.folder / f"{name}.log")
        self.children.append(child)
        return child

    def marker(self, run_id: int) -> str:
        return run_marker(run_id, self.settings.database_url)

    def sleeping_run(self, job: Job | None = None) -> tuple[int, str]:
        job = job or self.make.job(module="command", args="sleep 300")
        run_id = runs.launch(job).id
        marker = self.marker(run_id)
        processes.wait_for(lambda: processes.command_runs(marker), 120, "sleep")
        return run_id, marker

    def wait_final(self, run_ids: list[int], since: float, timeout: float) -> list:
        """Seconds from `since` until each run is final, as they become final."""
        seconds: dict[int, float] = {}
        deadline = time.monotonic() + timeout
        while len(seconds) < len(run_ids) and time.monotonic() < deadline:
            db.session.expire_all()
            for run_id, status in db.session.query(Run.id, Run.status).filter(
                Run.id.in_(run_ids)
            ):
                if status in TERMINAL_STATUSES and run_id not in seconds:
                    seconds[run_id] = time.monotonic() - since
            time.sleep(0.05)
        return [seconds[run_id] for run_id in run_ids if run_id in seconds]

    def left(
        self, markers: list[str], horses: tuple[int, ...] = (), settle: float = 15.0
    ) -> int:
        """Processes of these runs (and work-horses) alive after `settle` seconds."""

        def alive() -> int:
            found = sum(len(process.run_processes(m)) for m in markers)
            return found + sum(1 for pid in horses if processes.alive(pid))

        deadline = time.monotonic() + settle
        while alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        return alive()

    def twice(self, run_ids: list[int]) -> int:
        """Runs with more than one `runner_on_ok` event: executed more than once."""
        oks = collections.Counter(
            run_id
            for (run_id,) in db.session.query(Event.run_id).filter(
                Event.run_id.in_(run_ids), Event.type == "runner_on_ok"
            )
        )
        return sum(1 for count in oks.values() if count > 1)

    def statuses(self, run_ids: list[int]) -> collections.Counter:
        db.session.expire_all()
        return collections.Counter(
            status
            for (status,) in db.session.query(Run.status).filter(Run.id.in_(run_ids))
        )


def killed_horse(bench: Bench, options) -> Figures:
    bench.workers(1)
    run_id, marker = bench.sleeping_run()
    horse = processes.work_horse(marker)
    start = time.monotonic()
    os.kill(horse, signal.SIGKILL)
    seconds = bench.wait_final([run_id], start, 60)
    left = bench.left([marker])
    return Figures(
        "work-horse SIGKILLed mid-run",
        1,
        seconds,
        left,
        lost=1 - len(seconds),
        note=_statuses(bench, [run_id]),
    )


def killed_worker(bench: Bench, options) -> Figures:
    (worker,) = bench.workers(1)
    bench.scheduler()
    run_id, marker = bench.sleeping_run()
    horse = processes.work_horse(marker)
    start = time.monotonic()
    os.kill(worker.pid, signal.SIGKILL)
    seconds = bench.wait_final([run_id], start, 120)
    left = bench.left([marker], (horse,))
    return Figures(
        "whole worker SIGKILLed mid-run",
        1,
        seconds,
        left,
        lost=1 - len(seconds),
        note=_statuses(bench, [run_id]) + "; heartbeat 10 s, reconciler every 5 s",
    )


def stopped_worker(bench: Bench, options) -> Figures:
    (worker,) = bench.workers(1)
    run_id, marker = bench.sleeping_run()
    horse = processes.work_horse(marker)
    start = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    seconds = bench.wait_final([run_id], start, 60)
    worker.wait(timeout=60)
    stopped = time.monotonic() - start
    return Figures(
        "worker stopped (SIGTERM) mid-run",
        1,
        seconds,
        bench.left([marker], (horse,)),
        lost=1 - len(seconds),
        note=_statuses(bench, [run_id]) + f"; worker exited after {stopped:.1f} s",
    )


def redis_restart(bench: Bench, options) -> Figures:
    bench.workers(1)
    bench.scheduler()
    started, marker = bench.sleeping_run()
    horse = processes.work_horse(marker)
    waiting = [runs.launch(bench.make.job(module="ping")).id for _ in range(2)]
    start = time.monotonic()
    bench.redis.stop()
    bench.redis.start()
    all_ids = [started, *waiting]
    seconds = bench.wait_final(all_ids, start, 180)
    requeued = sum(db.session.get(Run, run_id).requeued for run_id in waiting)
    first = f"{seconds[0]:.1f} s" if seconds else "never"
    return Figures(
        "Redis restarted: 1 run running, 2 queued",
        3,
        seconds,
        bench.left([marker], (horse,)),
        lost=len(all_ids) - len(seconds),
        twice=bench.twice(waiting),
        note=f"{_statuses(bench, all_ids)}; the running one ended after {first}; "
        f"queued again: {requeued}",
    )


def cancel_many(bench: Bench, options) -> Figures:
    count = options.cancel
    bench.workers(count)
    job = bench.make.job(module="command", args="sleep 300")
    started = [bench.sleeping_run(job) for _ in range(count)]
    ids = [run_id for run_id, _ in started]
    horses = tuple(processes.work_horse(marker) for _, marker in started)
    start = time.monotonic()
    for run_id in ids:
        runs.cancel(db.session.get(Run, run_id), by="bench")
    seconds = bench.wait_final(ids, start, 120)
    return Figures(
        f"{count} running runs canceled",
        count,
        seconds,
        bench.left([marker for _, marker in started], horses),
        lost=count - len(seconds),
        note=_statuses(bench, ids),
    )


def many_launches(bench: Bench, options) -> Figures:
    bench.workers(options.workers)
    bench.scheduler()
    job_id = bench.make.job(module="raw", args="true").id
    launched: list[int] = []
    barrier = threading.Barrier(options.clients)
    per_client = options.launches // options.clients

    def client() -> None:
        with bench.app.app_context():
            barrier.wait()
            for _ in range(per_client):
                launched.append(runs.launch(db.session.get(Job, job_id)).id)
            db.session.remove()

    start = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(options.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queued_in = time.monotonic() - start
    seconds = bench.wait_final(launched, start, 1800)
    total = max(seconds, default=0.0)
    return Figures(
        f"{len(launched)} launches from {options.clients} clients at once",
        len(launched),
        seconds,
        bench.left([bench.marker(run_id) for run_id in launched], settle=1),
        lost=per_client * options.clients - len(seconds),
        twice=bench.twice(launched),
        note=f"{_statuses(bench, launched)}; all queued after {queued_in:.1f} s; "
        f"{options.workers} workers, all done after {total:.0f} s",
    )


def timeout(bench: Bench, options) -> Figures:
    bench.workers(1)
    playbook = bench.make.playbook(
        files={
            "site.yml": "- hosts: all\n  gather_facts: false\n  tasks:\n"
            "    - ansible.builtin.command: sleep 300\n"
        }
    )
    adhoc = bench.make.job(module="command", args="sleep 300", timeout=5)
    book = bench.make.job(playbook=playbook, timeout=5)
    seconds, markers, ids = [], [], []
    for job in (adhoc, book):
        run_id = runs.launch(job).id
        processes.wait_for(
            lambda r=run_id: processes.status(r) == RunStatus.RUNNING, 60, "start"
        )
        started = db.session.get(Run, run_id).started_at
        bench.wait_final([run_id], time.monotonic(), 120)
        ended = db.session.get(Run, run_id).finished_at
        seconds.append((ended - started).total_seconds() - 5)
        markers.append(bench.marker(run_id))
        ids.append(run_id)
    return Figures(
        "5 s timeout, ad-hoc and playbook",
        2,
        seconds,
        bench.left(markers),
        note=_statuses(bench, ids) + "; time counted past the 5 s deadline",
    )


def _statuses(bench: Bench, run_ids: list[int]) -> str:
    counts = bench.statuses(run_ids)
    return ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))


SCENARIOS: dict[str, Callable[[Bench, argparse.Namespace], Figures]] = {
    "horse": killed_horse,
    "worker": killed_worker,
    "stop": stopped_worker,
    "timeout": timeout,
    "redis": redis_restart,
    "cancel": cancel_many,
    "launches": many_launches,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, default=[])
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--cancel", type=int, default=20)
    options = parser.parse_args()

    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    print(HEADER)
    for name in options.only or SCENARIOS:
        # A fresh Playdeck per scenario: nothing of one run leaks into the next.
        with tempfile.TemporaryDirectory(prefix="pdb-", dir="/tmp") as folder:
            bench = Bench(Path(folder))
            try:
                print(SCENARIOS[name](bench, options).row(), flush=True)
            finally:
                bench.close()


if __name__ == "__main__":
    main()
