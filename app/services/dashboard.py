"""What the dashboard shows: runs by status, each job's trend, what runs now,
the queue and the workers.

Every figure is counted by the database (GROUP BY over the runs of a span, read
through the index on `queued_at`), never by loading runs: the dashboard costs the
same with a hundred runs or a million.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from redis.exceptions import RedisError
from rq import Worker
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Job, Run, RunStatus
from app.models.timeutil import local_day, seconds_between
from app.queue import run_queue

log = logging.getLogger(__name__)

# Days of each job's trend, jobs shown (the busiest), and active runs listed.
TREND_DAYS = 14
TREND_JOBS = 10
ACTIVE_SHOWN = 20

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
# A run that did not succeed through no fault of a person: it counts against the
# success rate. A canceled run counts neither way: someone chose to stop it.
UNSUCCESSFUL = (RunStatus.FAILED, RunStatus.TIMEOUT, RunStatus.ERROR)


def success_rate(successful: int, unsuccessful: int) -> float | None:
    """Successful runs out of those that succeeded or not; None without any."""
    judged = successful + unsuccessful
    return successful / judged if judged else None


@dataclass(frozen=True)
class StatusCounts:
    """Runs queued in a span, by status; every status is there, 0 or more."""

    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def success_rate(self) -> float | None:
        return success_rate(
            self.counts[RunStatus.SUCCESSFUL],
            sum(self.counts[status] for status in UNSUCCESSFUL),
        )


def status_counts(since: datetime) -> StatusCounts:
    rows = db.session.execute(
        select(Run.status, func.count())
        .where(Run.queued_at >= since)
        .group_by(Run.status)
    )
    counts = dict.fromkeys((status.value for status in RunStatus), 0)
    for status, count in rows:
        counts[status] = count
    return StatusCounts(counts)


@dataclass(frozen=True)
class Day:
    day: date
    runs: int = 0
    successful: int = 0
    unsuccessful: int = 0
    # Mean seconds from start to finish of the day's finished runs.
    mean_seconds: float | None = None

    @property
    def success_rate(self) -> float | None:
        return success_rate(self.successful, self.unsuccessful)


@dataclass
class JobTrend:
    job_id: int
    name: str
    days: list[Day] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return sum(day.runs for day in self.days)

    @property
    def success_rate(self) -> float | None:
        return success_rate(
            sum(day.successful for day in self.days),
            sum(day.unsuccessful for day in self.days),
        )

    @property
    def last_mean_seconds(self) -> float | None:
        """The mean duration of the newest day that has one."""
        means = [day.mean_seconds for day in self.days if day.mean_seconds is not None]
        return means[-1] if means else None


def job_trends(
    now: datetime, offset_minutes: int, days: int = TREND_DAYS, limit: int = TREND_JOBS
) -> list[JobTrend]:
    """Runs, success rate and mean duration per day of the busiest jobs.

    Days are those of a zone `offset_minutes` ahead of UTC, the newest being
    today's; quick commands are left out (each is a job of its own).
    """
    offset = timedelta(minutes=offset_minutes)
    today = (now + offset).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time()) - offset

    day = local_day(Run.queued_at, offset_minutes).label("day")
    finished = Run.finished_at.is_not(None) & Run.started_at.is_not(None)
    rows = db.session.execute(
        select(
            Run.job_id,
            day,
            func.count(),
            func.sum(case((Run.status == RunStatus.SUCCESSFUL, 1), else_=0)),
            func.sum(case((Run.status.in_(UNSUCCESSFUL), 1), else_=0)),
            func.avg(
                case((finished, seconds_between(Run.started_at, Run.finished_at)))
            ),
        )
        .join(Job, Job.id == Run.job_id)
        .where(Run.queued_at >= since, Job.hidden.is_(False))
        .group_by(Run.job_id, day)
    ).all()

    by_job: dict[int, dict[date, Day]] = {}
    for job_id, text, count, good, bad, mean in rows:
        when = date.fromisoformat(text)
        by_job.setdefault(job_id, {})[when] = Day(
            when, count, int(good or 0), int(bad or 0), _float(mean)
        )
    busiest = sorted(
        by_job, key=lambda job_id: -sum(d.runs for d in by_job[job_id].values())
    )[:limit]
    names = dict(
        db.session.execute(select(Job.id, Job.name).where(Job.id.in_(busiest))).all()
    )
    span = [first + timedelta(days=n) for n in range(days)]
    return [
        JobTrend(
            job_id,
            names.get(job_id, f"job {job_id}"),
            [by_job[job_id].get(one, Day(one)) for one in span],
        )
        for job_id in busiest
    ]


def _float(value) -> float | None:
    return None if value is None else float(value)


def active_runs(limit: int | None = None) -> tuple[list[Run], int]:
    """The oldest queued and running runs, at most `limit` (`ACTIVE_SHOWN`), and
    how many there are.
    """
    limit = limit or ACTIVE_SHOWN
    runs = list(
        db.session.scalars(
            select(Run)
            .where(Run.status.in_(ACTIVE))
            .options(selectinload(Run.job))
            .order_by(Run.id)
            .limit(limit)
        )
    )
    if len(runs) < limit:
        return runs, len(runs)
    count = db.session.scalar(
        select(func.count()).select_from(Run).where(Run.status.in_(ACTIVE))
    )
    return runs, count or 0


@dataclass(frozen=True)
class QueueState:
    """What Redis says: runs waiting in the queue and workers listening to it.

    Both are None when Redis does not answer.
    """

    waiting: int | None
    workers: int | None

    @property
    def redis_answers(self) -> bool:
        return self.waiting is not None


def queue_state() -> QueueState:
    try:
        queue = run_queue()
        return QueueState(queue.count, Worker.count(queue=queue))
    except (RedisError, OSError) as exc:
        log.warning("cannot read the queue: %s", exc)
        return QueueState(None, None)
