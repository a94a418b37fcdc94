"""Upkeep every few seconds: due schedules fired, lost runs ended or queued
again, old runs purged.

    python -m app.maintenance

This is the Procfile's `scheduler` process. Each pass fires the schedules due
(rq-scheduler's entries, see app.services.scheduler), calls `reconcile_once()`
and `purge_once()`, then waits PLAYDECK_RECONCILE_INTERVAL seconds. Both are
plain functions, to be called from anywhere with an app context: a worker
reconciles once when it starts.

Every change a pass makes is a conditional update, so a second process doing the
same (or a worker starting meanwhile) never ends or queues a run twice.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from rq.job import Job, JobStatus
from sqlalchemy import select

from app.extensions import db
from app.models import Run, RunStatus
from app.models.timeutil import utcnow
from app.queue import cancel_key, heartbeat_key, redis_connection, settings
from app.services import retention
from app.services import runs as run_service
from app.services.scheduler import SchedulerLoop
from app.tasks import end_lost_run

log = logging.getLogger(__name__)

# RQ job statuses of a job that still waits for a worker.
_WAITING = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)

LOST_WORKER = "the worker running this job stopped unexpectedly"
LOST_JOB = "Redis lost the run's job (it restarted or lost its data)"

# Statements one purge pass may use: the rest waits for the next pass, so that a
# large purge never delays the reconciliation by more than a moment.
_PURGE_STATEMENTS = 50


@dataclass
class Reconciled:
    """What one reconciliation did: runs it ended and runs it queued again."""

    ended: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)


def reconcile_once() -> Reconciled:
    """End or queue again every unfinished run nothing takes care of any more.

    - a `running` run whose RQ job is gone from Redis ends `error`;
    - a `running` run without a heartbeat (and started longer ago than a heartbeat
      lasts) ends `error`: its worker is gone;
    - a `queued` run whose RQ job is gone, failed, or started long ago by a
      worker that never started the run, is queued again once, then ends `error`.

    A run ended here has its processes on this machine killed and is asked to
    stop through Redis, for a work-horse elsewhere. Nothing is decided while
    Redis does not answer: the silence would be Redis's, not the runs'.
    """
    done = Reconciled()
    runs = db.session.scalars(
        select(Run)
        .where(Run.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)))
        .order_by(Run.id)
    ).all()
    if not runs:
        return done

    redis = redis_connection()
    try:
        jobs = Job.fetch_many([run.rq_job_id or "" for run in runs], redis)
        beats = redis.mget([heartbeat_key(run.id) for run in runs])
    except RedisError as exc:
        log.warning("reconciliation skipped: Redis does not answer: %s", exc)
        return done

    # Younger than a heartbeat lasts: a run just queued or just started may not
    # show in Redis yet.
    horizon = utcnow() - timedelta(seconds=settings().heartbeat_ttl)
    for run, job, beat in zip(runs, jobs, beats, strict=True):
        try:
            if run.status == RunStatus.QUEUED:
                _reconcile_queued(run, job, horizon, done)
            else:
                _reconcile_running(run, job, beat, horizon, done)
        except RedisError as exc:
            log.warning("run %s not reconciled: Redis does not answer: %s", run.id, exc)
            break
    if done.ended or done.requeued:
        log.info("reconciled: ended %s, queued again %s", done.ended, done.requeued)
    return done


def _reconcile_queued(
    run: Run, job: Job | None, horizon: datetime, done: Reconciled
) -> None:
    if run.queued_at > horizon:
        return
    if job is None:
        reason = "Redis lost the run's job before it started"
    else:
        status = job.get_status(refresh=False)
        if status in _WAITING:
            return
        if status == JobStatus.STARTED and not _before(job.started_at, horizon):
            return  # a work-horse is about to start the run
        reason = f"the worker that took the run stopped before starting it ({status})"

    if run.requeued == 0:
        # False when another reconciler queued it again, or a work-horse started
        # it, since it was read: then it is not lost, and the next pass sees it.
        if run_service.requeue(run):
            log.warning("run %s queued again: %s", run.id, reason)
            done.requeued.append(run.id)
    elif end_lost_run(
        run.id, f"{reason}; it had been queued again once already", started=False
    ):
        done.ended.append(run.id)


def _reconcile_running(
    run: Run, job: Job | None, beat: bytes | None, horizon: datetime, done: Reconciled
) -> None:
    if job is None:
        reason = f"{LOST_JOB}; the run was stopped"
    elif beat is None and run.started_at is not None and run.started_at <= horizon:
        reason = f"{LOST_WORKER}; the run was stopped"
    else:
        return
    if end_lost_run(run.id, reason):
        done.ended.append(run.id)
    # For a work-horse on another machine, which the killing here cannot reach.
    redis_connection().set(cancel_key(run.id), "reconciler", ex=3600)


def _before(moment: datetime | None, horizon: datetime) -> bool:
    """RQ's times are aware UTC, ours naive UTC."""
    return moment is not None and moment.replace(tzinfo=None) <= horizon


def purge_once() -> retention.Purge:
    """One bounded pass of the retention purge (see app.services.retention)."""
    return retention.purge(max_statements=_PURGE_STATEMENTS)


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from app import create_app

    app = create_app()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    with app.app_context():
        interval = settings().reconcile_interval
        log.info("reconciling runs and purging old ones every %s s", interval)
        # Its entries are reconciled with the database first, once registered.
        schedules = SchedulerLoop(interval)
        schedules.start()
        while not stop.is_set():
            for step in (schedules.tick, reconcile_once, purge_once):
                try:
                    step()
                except Exception:  # the next pass tries again; this process stays
                    log.exception("%s failed", step.__name__)
                    db.session.rollback()
            db.session.remove()
            stop.wait(interval)
        schedules.stop()
    log.info("stopped")


if __name__ == "__main__":
    main()
