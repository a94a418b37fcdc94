"""The reconciler, one pass at a time: which unfinished runs it ends, which it
queues again, and which it leaves alone. Real Redis and database; runs are put
in each state by hand, the fault tests do it with real processes."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
from rq import Queue

from app.extensions import db
from app.maintenance import Reconciled, _reconcile_queued, reconcile_once
from app.models import Event, Run, RunStatus, utcnow
from app.models.event import NOTE
from app.models.run import mark_running
from app.queue import cancel_key, heartbeat_key, redis_connection, run_queue
from app.runner import process
from app.runner.sink import EventSink
from app.runner.spec import run_marker
from app.services import runs

from helpers import with_settings
from processes import alive, wait_for

pytestmark = pytest.mark.all_databases

LONG_AGO = timedelta(minutes=5)


def _running(make, started_ago: timedelta = LONG_AGO) -> Run:
    """A run a worker took: started, its RQ job taken off the queue."""
    run = runs.launch(make.job())
    run_queue().remove(run.rq_job_id)
    assert mark_running(run.id)
    _age(run, started_at=utcnow() - started_ago)
    return run


def _queued(make, queued_ago: timedelta = LONG_AGO) -> Run:
    run = runs.launch(make.job())
    _age(run, queued_at=utcnow() - queued_ago)
    return run


def _age(run: Run, **times) -> None:
    db.session.query(Run).filter_by(id=run.id).update(times)
    db.session.commit()
    db.session.refresh(run)


def _lose_job(run: Run) -> None:
    """What a Redis restart does to a run's RQ job."""
    run_queue().remove(run.rq_job_id)
    redis_connection().delete(f"rq:job:{run.rq_job_id}")


def _beat(run: Run) -> None:
    redis_connection().set(heartbeat_key(run.id), "test", ex=10)


def _refreshed(run: Run) -> Run:
    db.session.expire_all()
    return db.session.get(Run, run.id)


def _last_line(run: Run) -> Event | None:
    return (
        db.session.query(Event)
        .filter_by(run_id=run.id)
        .order_by(Event.seq.desc())
        .first()
    )


def test_a_silent_running_run_ends_error_and_is_told_to_stop(make):
    run = _running(make)

    done = reconcile_once()

    assert done.ended == [run.id]
    run = _refreshed(run)
    assert run.status == RunStatus.ERROR
    assert "the worker running this job stopped unexpectedly" in run.error
    assert run.finished_at is not None
    assert redis_connection().exists(cancel_key(run.id)), "a horse elsewhere stops"
    last = _last_line(run)
    assert last.type == NOTE
    assert last.stdout.startswith("Ended error at ")
    assert last.stdout.endswith(run.error)


def test_what_a_lost_run_s_work_horse_writes_after_its_end_stays_out(make):
    run = _running(make)
    # The run's work-horse, which has stored two lines and holds a third.
    sink = EventSink(run.id, batch_size=100, batch_seconds=60)
    for text in ("one", "two"):
        sink.handle({"event": "verbose", "stdout": text})
    sink.flush()
    sink.handle({"event": "verbose", "stdout": "three"})

    assert reconcile_once().ended == [run.id]
    sink.flush()
    sink.handle({"event": "verbose", "stdout": "four"})
    sink.flush()

    lines = db.session.query(Event).filter_by(run_id=run.id).order_by(Event.seq)
    assert [line.stdout for line in lines][:2] == ["one", "two"]
    assert lines.count() == 3, "the horse's late lines are dropped"
    assert _last_line(run).type == NOTE
    assert _refreshed(run).status == RunStatus.ERROR


def test_a_running_run_with_a_heartbeat_is_left_alone(make):
    run = _running(make)
    _beat(run)

    assert reconcile_once().ended == []
    assert _refreshed(run).status == RunStatus.RUNNING


def test_a_run_just_started_gets_time_for_its_first_heartbeat(make):
    run = _running(make, started_ago=timedelta(seconds=1))

    assert reconcile_once().ended == []
    assert _refreshed(run).status == RunStatus.RUNNING


def test_a_running_run_whose_job_redis_lost_ends_error(make):
    run = _running(make, started_ago=timedelta(seconds=1))
    _beat(run)
    _lose_job(run)

    assert reconcile_once().ended == [run.id]
    assert "Redis lost the run's job" in _refreshed(run).error


def test_a_lost_run_s_processes_here_are_killed(make, settings):
    run = _running(make)
    marker = run_marker(run.id, settings.database_url)
    leftover = subprocess.Popen(["sleep", "300"], env={process.MARKER_VARIABLE: marker})
    try:
        reconcile_once()
        leftover.wait(timeout=10)
    finally:
        leftover.kill()
    assert not alive(leftover.pid)
    assert not process.run_processes(marker)


def test_a_queued_run_whose_job_redis_lost_is_queued_again_once(make, run_worker):
    run = _queued(make)
    _lose_job(run)

    done = reconcile_once()

    assert done.requeued == [run.id]
    run = _refreshed(run)
    assert run.status == RunStatus.QUEUED and run.requeued == 1
    assert run.rq_job_id in run_queue().job_ids
    run_worker()
    assert _refreshed(run).status == RunStatus.SUCCESSFUL


def test_a_run_lost_a_second_time_ends_error(make):
    run = _queued(make)
    _lose_job(run)
    reconcile_once()
    _age(run, queued_at=utcnow() - LONG_AGO)
    _lose_job(run)

    done = reconcile_once()

    assert done.ended == [run.id] and done.requeued == []
    run = _refreshed(run)
    assert run.status == RunStatus.ERROR
    assert run.requeued == 1
    assert "queued again once already" in run.error


def test_a_run_taken_by_a_worker_that_died_before_starting_it_is_queued_again(
    make,
):
    run = _queued(make)
    job = run_queue().fetch_job(run.rq_job_id)
    run_queue().remove(job)
    job.set_status("started")
    job.started_at = utcnow() - LONG_AGO
    job.save()

    assert reconcile_once().requeued == [run.id]


def _read_by_another_reconciler(run: Run) -> Run:
    """The run as a second reconciler read it, before the first acted."""
    stale = db.session.get(Run, run.id)
    db.session.expunge(stale)
    return stale


def test_a_run_queued_again_by_another_reconciler_meanwhile_is_left_alone(make):
    run = _queued(make)
    _lose_job(run)
    stale = _read_by_another_reconciler(run)
    assert runs.requeue(db.session.get(Run, run.id))

    done = Reconciled()
    _reconcile_queued(stale, None, utcnow(), done)

    assert done == Reconciled()
    run = _refreshed(run)
    assert run.status == RunStatus.QUEUED and run.requeued == 1


def test_a_run_started_meanwhile_is_neither_ended_nor_killed(make, settings):
    run = _queued(make)
    _lose_job(run)
    _age(run, requeued=1)
    stale = _read_by_another_reconciler(run)
    assert mark_running(run.id)

    done = Reconciled()
    _reconcile_queued(stale, None, utcnow(), done)

    assert done == Reconciled()
    assert _refreshed(run).status == RunStatus.RUNNING


def test_queued_runs_waiting_for_a_worker_are_left_alone(make):
    waiting = _queued(make)
    just_launched = _queued(make, queued_ago=timedelta(0))
    _lose_job(just_launched)  # or rather: not in Redis yet

    done = reconcile_once()

    assert done.ended == [] and done.requeued == []
    assert _refreshed(waiting).status == RunStatus.QUEUED
    assert _refreshed(just_launched).requeued == 0


def test_nothing_is_decided_while_redis_does_not_answer(app, make):
    run = _running(make)
    queued = _queued(make)
    _lose_job(queued)
    with_settings(app, redis_url="redis://127.0.0.1:1/0")

    done = reconcile_once()

    assert done.ended == [] and done.requeued == []
    assert _refreshed(run).status == RunStatus.RUNNING
    assert _refreshed(queued).requeued == 0


def test_a_second_reconciler_at_once_changes_nothing_more(make):
    silent = _running(make)
    lost = _queued(make)
    _lose_job(lost)

    first = reconcile_once()
    second = reconcile_once()

    assert first.ended == [silent.id] and first.requeued == [lost.id]
    assert second.ended == [] and second.requeued == []
    assert len(Queue(run_queue().name, connection=redis_connection())) == 1


def test_the_maintenance_process_stops_on_sigterm(settings, scheduler_process):
    wait_for(
        lambda: (
            b"reconciling"
            in (settings.instance_dir.parent / "scheduler.log").read_bytes()
        ),
        30,
        "the scheduler to start",
    )
    scheduler_process.terminate()
    assert scheduler_process.wait(timeout=20) == 0
