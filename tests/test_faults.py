"""Faults with real processes: a whole worker killed or stopped mid-run, twenty
running runs canceled, two hundred launches at once.

Each test checks how the runs ended and that no process of a stopped run
survives. How fast they end is measured by bench/reliability.py, not asserted
here beyond generous bounds.
"""

from __future__ import annotations

import collections
import os
import signal
import threading

import pytest

from app.extensions import db
from app.models import Event, Job, Run, RunStatus
from app.models.event import NOTE
from app.runner import process
from app.runner.spec import run_marker
from app.services import runs

from processes import alive, command_runs, status, wait_for, work_horse

# Slow, all of them; the tests whose outcome hangs on the database's concurrency
# also run on PostgreSQL.
pytestmark = pytest.mark.slow


def _sleeping_run(make, settings, job=None) -> tuple[Run, str]:
    run = runs.launch(job or make.job(module="command", args="sleep 300"))
    marker = run_marker(run.id, settings.database_url)
    wait_for(lambda: command_runs(marker), 90, f"run {run.id}'s sleep command")
    return run, marker


def _last_line(run_id: int) -> Event:
    return (
        db.session.query(Event)
        .filter_by(run_id=run_id)
        .order_by(Event.seq.desc())
        .first()
    )


@pytest.mark.all_databases
def test_a_killed_worker_s_run_ends_error_and_none_of_its_processes_survive(
    app, settings, make, worker_processes, scheduler_process
):
    (worker,) = worker_processes(1)
    run, marker = _sleeping_run(make, settings)
    horse = work_horse(marker)

    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert alive(horse) and command_runs(marker), "the worker's death leaves them"

    # A heartbeat lasts 10 s; the scheduler looks every second.
    wait_for(lambda: status(run.id) == RunStatus.ERROR, 40, "the run to end error")
    ended = db.session.get(Run, run.id)
    assert "the worker running this job stopped unexpectedly" in ended.error
    wait_for(
        lambda: not process.run_processes(marker) and not alive(horse),
        15,
        "no process of the run",
    )
    last = _last_line(run.id)
    assert last.type == NOTE and last.stdout.startswith("Ended error at ")


@pytest.mark.all_databases
def test_a_worker_stopped_mid_run_cancels_it_and_leaves_no_process(
    app, settings, make, worker_processes
):
    (worker,) = worker_processes(1)
    run, marker = _sleeping_run(make, settings)
    horse = work_horse(marker)

    worker.send_signal(signal.SIGTERM)

    # Written at once, before ansible has even stopped.
    wait_for(lambda: status(run.id) == RunStatus.CANCELED, 10, "the run to cancel")
    ended = db.session.get(Run, run.id)
    assert ended.canceled_by == "worker shutdown"
    assert "shut down" in ended.error
    assert worker.wait(timeout=30) == 0, "the worker stops once its run stopped"
    assert not process.run_processes(marker)
    assert not alive(horse)
    last = _last_line(run.id)
    assert last.type == NOTE
    assert last.stdout.startswith("Canceled by worker shutdown at ")


def test_twenty_running_runs_canceled_leave_no_process(
    app, settings, make, worker_processes
):
    worker_processes(20)
    job = make.job(module="command", args="sleep 300")
    started = [_sleeping_run(make, settings, job) for _ in range(20)]
    horses = [work_horse(marker) for _, marker in started]

    for run, _ in started:
        assert runs.cancel(db.session.get(Run, run.id), by="tester")

    for run, _ in started:
        wait_for(lambda r=run: status(r.id) == RunStatus.CANCELED, 60, f"run {run.id}")
    wait_for(
        lambda: (
            not any(process.run_processes(m) for _, m in started)
            and not any(alive(pid) for pid in horses)
        ),
        20,
        "every process of the twenty runs to end",
    )
    for run, _ in started:
        last = _last_line(run.id)
        assert last.type == NOTE and last.stdout.startswith("Canceled by tester at ")


CLIENTS = 20
LAUNCHES_PER_CLIENT = 10
# Four workers keep both cores of a small machine busy: a run of ansible spends
# part of its time waiting (its start, its exit).
WORKERS = 4


# About two minutes on two idle cores; the bound leaves room for a busy machine.
@pytest.mark.all_databases
@pytest.mark.timeout(600)
def test_two_hundred_launches_at_once_each_execute_exactly_once(
    app, settings, make, worker_processes, scheduler_process, tmp_path
):
    # Each execution appends its run's marker to a file: a run executed twice
    # would show twice, whatever the database says.
    executions = tmp_path / "executions"
    # Threads read the id, never the row: it belongs to this thread's session.
    job_id = make.job(
        module="raw", args=f"echo $PLAYDECK_RUN_MARKER >> {executions}"
    ).id
    worker_processes(WORKERS)

    launched: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(CLIENTS)

    def client() -> None:
        with app.app_context():
            try:
                start.wait()
                for _ in range(LAUNCHES_PER_CLIENT):
                    launched.append(runs.launch(db.session.get(Job, job_id)).id)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(set(launched)) == CLIENTS * LAUNCHES_PER_CLIENT

    def finished() -> bool:
        db.session.expire_all()
        return (
            not db.session.query(Run)
            .filter(Run.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)))
            .count()
        )

    wait_for(finished, 540, "every run to finish")
    ended = db.session.query(Run).filter(Run.id.in_(launched)).all()
    assert collections.Counter(run.status for run in ended) == {
        RunStatus.SUCCESSFUL: 200
    }, [(run.id, run.status, run.error) for run in ended if run.error]
    assert all(run.requeued == 0 for run in ended)

    markers = collections.Counter(executions.read_text().split())
    assert markers == {run_marker(id_, settings.database_url): 1 for id_ in launched}
    oks = collections.Counter(
        run_id
        for (run_id,) in db.session.query(Event.run_id).filter(
            Event.run_id.in_(launched), Event.type == "runner_on_ok"
        )
    )
    assert oks == dict.fromkeys(launched, 1)
