"""The scheduler: rq-scheduler entries derived from the schedules in the database,
and the tick that fires the due ones through the launch service.

Each enabled schedule has one entry in rq-scheduler's sorted set: an RQ job whose
id is derived from the schedule's definition, scored with its next due time.
`reconcile` makes the entries match the database, the way redash reconciles its
periodic jobs: entries of removed, disabled or changed schedules are cancelled,
missing ones are added, unchanged ones are left alone. It runs when the scheduler
starts and after every change to a job or its schedule.

`tick(now)` runs in the scheduler process under rq-scheduler's lock: each entry
due by `now` fires its schedule, then moves to the schedule's next due time. The
scheduler fires entries itself rather than letting rq-scheduler move them into
the run queue: a firing must not wait behind long runs for a free worker, and the
overlap policy must see the job's runs as they are at the due time.

Exactly once: a firing is a row unique by (schedule, due time), inserted in the
transaction that creates the run it launches. Two schedulers that both take an
occurrence for theirs (rq-scheduler's lock expired under a slow one, say) race on
that insert; the database lets one win and the other launches nothing. The
database says what was handled; an entry's score only says when to look next.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import RedisError
from rq.job import Job as RQJob
from rq_scheduler import Scheduler
from rq_scheduler.utils import to_unix
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.extensions import db
from app.models import (
    Firing,
    FiringOutcome,
    Overlap,
    Run,
    RunStatus,
    RunTrigger,
    Schedule,
)
from app.models.timeutil import utcnow
from app.queue import redis_connection, settings
from app.recurrence import Due, due_between
from app.services import ServiceError, runs

log = logging.getLogger(__name__)

ENTRY_PREFIX = "playdeck-schedule-"
# The function an entry names, with the schedule's id as its argument. The tick
# does what it does itself rather than have a worker call it (see above).
FIRE = "app.services.scheduler.fire_schedule"
# Missed due times counted on a catch-up firing before counting stops.
MISSED_CAP = 1000
# Seconds rq-scheduler's lock and a scheduler's registration outlive a tick that
# does not renew them (rq-scheduler adds 10): longer than any tick lasts.
DEFAULT_INTERVAL = 60


class EntryScheduler(Scheduler):
    """rq-scheduler under keys of Playdeck's own: another application's
    rq-scheduler on the same Redis neither takes these entries nor the lock.
    """

    redis_scheduler_namespace_prefix = "playdeck:scheduler:instance:"
    scheduler_key = "playdeck:scheduler"
    scheduler_lock_key = "playdeck:scheduler:lock"
    scheduled_jobs_key = "playdeck:scheduler:entries"


def entry_scheduler(
    interval: float = DEFAULT_INTERVAL, name: str | None = None
) -> EntryScheduler:
    """rq-scheduler on the app's Redis; `interval` is the scheduler's tick, in
    seconds, which sets how long its lock and registration last.
    """
    return EntryScheduler(
        queue_name=settings().queue_name,
        connection=redis_connection(),
        interval=max(1, int(interval)),
        name=name,
    )


def entry_id(schedule: Schedule) -> str:
    """The entry's id: the schedule's id and a digest of its definition, so a
    changed schedule gets a new entry and an unchanged one keeps its own.
    """
    digest = hashlib.sha256(repr(schedule.definition()).encode()).hexdigest()
    return f"{ENTRY_PREFIX}{schedule.id}-{digest[:16]}"


@dataclass(frozen=True)
class Reconciled:
    added: int
    removed: int
    kept: int


def reconcile(scheduler: EntryScheduler | None = None) -> Reconciled:
    """Make rq-scheduler's entries those of the enabled schedules."""
    scheduler = scheduler or entry_scheduler()
    wanted: dict[str, tuple[Schedule, datetime]] = {}
    for schedule in db.session.scalars(select(Schedule).where(Schedule.enabled)):
        due = schedule.next_due()
        if due is not None:
            wanted[entry_id(schedule)] = (schedule, due)

    present = {
        raw.decode()
        for raw in scheduler.connection.zrange(scheduler.scheduled_jobs_key, 0, -1)
    }
    for stale in present - wanted.keys():
        _drop(scheduler, stale)
    for new in wanted.keys() - present:
        schedule, due = wanted[new]
        # Should two reconciliations add the same entry at once, the second
        # only writes the same job again: the id is the same.
        scheduler.enqueue_at(
            due,
            FIRE,
            schedule.id,
            job_id=new,
            job_description=f"schedule {schedule.id} of job {schedule.job.name}",
        )

    result = Reconciled(
        added=len(wanted.keys() - present),
        removed=len(present - wanted.keys()),
        kept=len(present & wanted.keys()),
    )
    log.info(
        "schedules reconciled added=%s removed=%s kept=%s",
        result.added,
        result.removed,
        result.kept,
    )
    return result


def reconcile_after_change() -> None:
    """Reconcile after a page or the API changed a job or a schedule.

    The change is saved whatever Redis says: the database is the truth, entries
    of changed schedules are refused when they come due, and the scheduler
    reconciles again when it starts.
    """
    try:
        reconcile()
    except RedisError as exc:
        log.warning("schedules not reconciled, Redis does not answer: %s", exc)


def tick(
    now: datetime | None = None, scheduler: EntryScheduler | None = None
) -> list[Firing]:
    """Fire every schedule due by `now` (UTC), under rq-scheduler's lock.

    Returns the firings made. A scheduler that finds the lock taken does nothing
    this time: another one is ticking.
    """
    now = now or utcnow()
    scheduler = scheduler or entry_scheduler()
    if not scheduler.acquire_lock():
        log.debug("the scheduler lock is taken: another scheduler is ticking")
        return []
    try:
        fired = []
        for entry in list(scheduler.get_jobs(until=now)):
            firing = _fire_entry(scheduler, entry, now)
            if firing is not None:
                fired.append(firing)
        return fired
    finally:
        scheduler.remove_lock()


def _fire_entry(
    scheduler: EntryScheduler, entry: RQJob, now: datetime
) -> Firing | None:
    schedule = db.session.get(Schedule, int(entry.args[0]))
    if schedule is None or not schedule.enabled or entry_id(schedule) != entry.id:
        log.info("entry %s dropped: its schedule was removed or changed", entry.id)
        _drop(scheduler, entry.id)
        return None

    try:
        firing = fire(schedule, now)
        following = schedule.next_due()
    except SQLAlchemyError:
        # The entry stays due, so the next tick tries again.
        db.session.rollback()
        log.exception("schedule %s could not be fired", schedule.id)
        return None

    if following is None:
        _drop(scheduler, entry.id)
    else:
        # XX: only move an entry that is still there, so that an entry a
        # reconciliation removed meanwhile does not come back.
        scheduler.connection.zadd(
            scheduler.scheduled_jobs_key, {entry.id: to_unix(following)}, xx=True
        )
    return firing


def fire_schedule(schedule_id: int, now: datetime | None = None) -> Firing | None:
    """Fire the schedule of that id if it is enabled and due; needs an app
    context. What an entry stands for.
    """
    schedule = db.session.get(Schedule, schedule_id)
    if schedule is None or not schedule.enabled:
        return None
    return fire(schedule, now or utcnow())


def fire(schedule: Schedule, now: datetime) -> Firing | None:
    """Fire the schedule for its latest due time by `now`, if one is unhandled.

    Due times before that one were missed (the scheduler was down): they are
    counted on this firing, which catches up for all of them with a single run.
    """
    due = due_now(schedule, now)
    return fire_due(schedule, due, now) if due is not None else None


def due_now(schedule: Schedule, now: datetime) -> Due | None:
    """The due times of the schedule not handled yet, up to `now`."""
    return due_between(
        schedule.recurrence(), schedule.handled_until(), now, cap=MISSED_CAP
    )


def fire_due(schedule: Schedule, due: Due, now: datetime) -> Firing | None:
    """Record the firing for `due.latest` and launch the run; None when another
    scheduler recorded it first.
    """
    firing = Firing(
        schedule_id=schedule.id,
        occurrence=due.latest,
        fired_at=now,
        outcome=FiringOutcome.LAUNCHED,
        missed=due.missed,
        missed_since=due.first_missed,
        missed_more=due.more,
    )
    db.session.add(firing)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        log.info(
            "schedule %s due %s was fired by another scheduler", schedule.id, due.latest
        )
        return None
    if due.missed:
        log.warning(
            "schedule %s missed %s due times since %s; one run catches up",
            schedule.id,
            due.missed,
            due.first_missed,
        )

    job = schedule.job
    if schedule.overlap == Overlap.SKIP:
        busy = _active_run(job.id)
        if busy is not None:
            firing.outcome = FiringOutcome.SKIPPED
            firing.note = f"run {busy.id} of this job was still {busy.status}"
            db.session.commit()
            log.info(
                "schedule %s due %s skipped: %s", schedule.id, due.latest, firing.note
            )
            return firing

    try:
        run = runs.launch(job, trigger=RunTrigger.SCHEDULED, firing=firing)
    except ServiceError as exc:
        firing.outcome = FiringOutcome.REFUSED
        # Nobody sees a form here: the note says what each field said, like a
        # required parameter without a default.
        firing.note = " ".join([exc.message, *exc.fields.values()])
        db.session.commit()
        log.warning("schedule %s due %s refused: %s", schedule.id, due.latest, exc)
        return firing

    log.info("schedule %s due %s launched run %s", schedule.id, due.latest, run.id)
    return firing


def _active_run(job_id: int) -> Run | None:
    return db.session.scalar(
        select(Run)
        .where(
            Run.job_id == job_id,
            Run.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)),
        )
        .order_by(Run.id.desc())
        .limit(1)
    )


def _drop(scheduler: EntryScheduler, entry: str) -> None:
    scheduler.cancel(entry)
    scheduler.connection.delete(RQJob.key_for(entry))


def schedulers_alive() -> int | None:
    """How many scheduler processes registered and alive; None when Redis does not
    answer.
    """
    prefix = EntryScheduler.redis_scheduler_namespace_prefix
    try:
        connection = redis_connection()
        return sum(
            1
            for key in connection.scan_iter(match=f"{prefix}*")
            if not connection.hexists(key, "death")
        )
    except RedisError as exc:
        log.warning("cannot count schedulers: %s", exc)
        return None


class SchedulerLoop:
    """The scheduler's share of the scheduler process's loop
    (`python -m app.maintenance`): register with rq-scheduler, reconcile at start,
    then `tick()` once a pass.

    Entries are reconciled again every `RECONCILE_EVERY` seconds as well: a
    schedule saved while Redis was down has no entry until then.
    """

    RECONCILE_EVERY = 300.0

    def __init__(self, interval: float) -> None:
        self.scheduler = entry_scheduler(interval)
        self._reconciled_at: datetime | None = None

    def start(self, now: datetime | None = None) -> None:
        try:
            self.scheduler.register_birth()
            self._reconcile(now or utcnow())
        except RedisError as exc:
            log.warning("scheduler start: Redis does not answer: %s", exc)

    def tick(self, now: datetime | None = None) -> list[Firing]:
        now = now or utcnow()
        # abs(): a clock set back must not hold the next reconciliation off.
        if (
            self._reconciled_at is None
            or abs((now - self._reconciled_at).total_seconds()) >= self.RECONCILE_EVERY
        ):
            self._reconcile(now)
        self.scheduler.heartbeat()
        return tick(now, self.scheduler)

    def stop(self) -> None:
        try:
            self.scheduler.remove_lock()
            self.scheduler.register_death()
        except RedisError as exc:
            log.warning("scheduler stop: Redis does not answer: %s", exc)

    def _reconcile(self, now: datetime) -> None:
        reconcile(self.scheduler)
        self._reconciled_at = now
