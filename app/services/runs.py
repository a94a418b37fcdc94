"""Launching, canceling and reading runs."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from rq import Callback, Worker
from sqlalchemy import select

from app import tasks
from app.extensions import db
from app.models import Event, Job, Run, RunStatus
from app.models.run import mark_finished
from app.models.timeutil import utcnow
from app.queue import cancel_key, redis_connection, run_queue, settings
from app.services import ServiceError

log = logging.getLogger(__name__)

# Seconds RQ lets a run's job live beyond the run's own timeout before it kills the
# work-horse itself; the run stops itself well before that.
_RQ_TIMEOUT_MARGIN = 300
# Seconds cancel requests and finished RQ jobs are kept in Redis.
_CANCEL_TTL = 24 * 3600
_RESULT_TTL = 600


def launch(job: Job) -> Run:
    """Create the run as `queued`, commit, then hand its id to the queue.

    If the queue cannot take it, the run ends `error` at once with the reason.
    """
    if job.kind == "playbook" and job.playbook is None:
        raise ServiceError("This job has no playbook.", {"playbook": "Choose one."})
    if not job.hosts and not any(group.hosts for group in job.groups):
        raise ServiceError("This job targets no host.", {"hosts": "Pick a host."})

    run = Run(job=job, status=RunStatus.QUEUED, summary=_summary(job))
    db.session.add(run)
    db.session.commit()

    timeout = job.timeout or settings().default_timeout
    try:
        rq_job = run_queue().enqueue(
            tasks.execute_run,
            run.id,
            job_timeout=timeout + settings().stop_grace + _RQ_TIMEOUT_MARGIN,
            result_ttl=_RESULT_TTL,
            on_success=Callback(tasks.on_success),
            on_failure=Callback(tasks.on_failure),
            on_stopped=Callback(tasks.on_stopped),
        )
    except Exception as exc:  # any failure of Redis: the run must not stay queued
        log.error("run %s could not be queued: %s", run.id, exc)
        mark_finished(
            run.id, RunStatus.ERROR, error=f"the run could not be queued: {exc}"
        )
        db.session.refresh(run)
        return run

    run.rq_job_id = rq_job.id
    db.session.commit()
    log.info("run %s queued for job %s rq_job=%s", run.id, job.id, rq_job.id)
    return run


def cancel(run: Run) -> bool:
    """Ask a run to stop. A queued run ends at once; a running one within seconds.

    Returns False when the run had already ended.
    """
    if run.state.terminal:
        return False
    redis = redis_connection()
    redis.set(cancel_key(run.id), "1", ex=_CANCEL_TTL)
    if mark_finished(
        run.id,
        RunStatus.CANCELED,
        only_from=(RunStatus.QUEUED,),
        error="canceled before it started",
    ):
        # Still queued: take it off the queue so no worker picks it up.
        if run.rq_job_id:
            job = run_queue().fetch_job(run.rq_job_id)
            if job is not None:
                job.cancel()
    else:
        db.session.query(Run).filter_by(id=run.id).update(
            {"cancel_requested_at": utcnow()}
        )
        db.session.commit()
    db.session.refresh(run)
    return True


def workers_alive() -> int | None:
    """How many workers listen to the run queue; None when Redis does not answer."""
    try:
        return Worker.count(queue=run_queue())
    except RedisError as exc:
        log.warning("cannot count workers: %s", exc)
        return None


def _summary(job: Job) -> dict:
    """What is about to run, frozen into the run for its history."""
    return {
        "kind": job.kind,
        "description": job.description,
        "hosts": [host.name for host in job.hosts],
        "groups": [group.name for group in job.groups],
        "credential": job.credential.name if job.credential else None,
    }


def events_after(run_id: int, after: int, limit: int) -> list[Event]:
    """Events with a sequence above `after`, in order, at most `limit`."""
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.run_id == run_id, Event.seq > after)
            .order_by(Event.seq)
            .limit(limit)
        )
    )


def events_before(run_id: int, before: int | None, limit: int) -> list[Event]:
    """The `limit` events just before sequence `before` (or the last ones), in order."""
    query = select(Event).where(Event.run_id == run_id)
    if before is not None:
        query = query.where(Event.seq < before)
    rows = db.session.scalars(query.order_by(Event.seq.desc()).limit(limit))
    return list(reversed(list(rows)))


def last_seq(run_id: int) -> int:
    return (
        db.session.scalar(
            select(Event.seq)
            .where(Event.run_id == run_id)
            .order_by(Event.seq.desc())
            .limit(1)
        )
        or 0
    )
