"""Schedules, which say when a job runs by itself, and their firings.

A firing is one due time of a schedule and what became of it: a run launched, a
firing skipped because the job's previous run was still going, or a launch the
job refused. Due times the scheduler missed while it was not running are counted
on the firing that caught up for them. The unique (schedule, due time) pair is
what lets two scheduler processes race without firing anything twice.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.extensions import db
from app.models.job import Job
from app.models.run import Run
from app.models.timeutil import utcnow
from app.recurrence import Cron, Every, Once, Recurrence


class ScheduleKind(enum.StrEnum):
    CRON = "cron"
    INTERVAL = "interval"
    ONCE = "once"


class IntervalUnit(enum.StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"

    @property
    def seconds(self) -> int:
        return 60 if self is IntervalUnit.MINUTES else 3600


class Overlap(enum.StrEnum):
    """What a firing does while the job's previous run is queued or running."""

    SKIP = "skip"
    ALLOW = "allow"


class FiringOutcome(enum.StrEnum):
    LAUNCHED = "launched"
    SKIPPED = "skipped"
    # The launch service refused the job, say because it targets no host any more.
    REFUSED = "refused"


class Schedule(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(
        ForeignKey("job.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    # Cron: five fields, read in `timezone`.
    cron: Mapped[str] = mapped_column(String(255), default="")
    # IANA name; cron times are read in it and every time is shown in it.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Interval: `every` minutes or hours, counted from `effective_from`.
    every: Mapped[int | None]
    unit: Mapped[str] = mapped_column(String(16), default=IntervalUnit.MINUTES)
    # Once: the time, UTC.
    run_at: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    overlap: Mapped[str] = mapped_column(String(16), default=Overlap.SKIP)
    # UTC, to the minute: when the current definition took effect (saved changed,
    # or enabled again). Nothing due before it ever fires, so a schedule that was
    # off, or just changed, does not catch up on times it did not have.
    effective_from: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    job: Mapped[Job] = relationship(
        backref=backref(
            "schedule",
            uselist=False,
            cascade="all, delete-orphan",
            passive_deletes=True,
        )
    )

    def recurrence(self) -> Recurrence:
        if self.kind == ScheduleKind.CRON:
            return Cron(self.cron, self.timezone)
        if self.kind == ScheduleKind.INTERVAL:
            seconds = (self.every or 0) * IntervalUnit(self.unit).seconds
            return Every(seconds, self.effective_from)
        assert self.run_at is not None
        return Once(self.run_at, self.timezone)

    def definition(self) -> tuple[object, ...]:
        """Everything that decides the due times; equal definitions, equal times."""
        return (
            self.kind,
            self.cron if self.kind == ScheduleKind.CRON else "",
            self.timezone,
            self.every if self.kind == ScheduleKind.INTERVAL else None,
            self.unit if self.kind == ScheduleKind.INTERVAL else "",
            self.run_at if self.kind == ScheduleKind.ONCE else None,
            self.effective_from,
        )

    def handled_until(self) -> datetime:
        """The due time after which nothing was handled yet: the last firing's, or
        `effective_from`.
        """
        last = db.session.scalar(
            select(func.max(Firing.occurrence)).where(Firing.schedule_id == self.id)
        )
        return max(last, self.effective_from) if last else self.effective_from

    def next_due(self) -> datetime | None:
        """The first due time not handled yet, maybe in the past when the scheduler
        is behind; None when there is none left (a one-off that fired).
        """
        return next(self.recurrence().after(self.handled_until()), None)

    def __repr__(self) -> str:
        return f"<Schedule {self.id} of job {self.job_id} {self.kind}>"


def minute_floor(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


class Firing(db.Model):
    # One firing per due time: the database arbitrates between two schedulers.
    __table_args__ = (
        UniqueConstraint(
            "schedule_id", "occurrence", name="uq_firing_schedule_id_occurrence"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedule.id", ondelete="CASCADE")
    )
    # The due time this firing is for, UTC.
    occurrence: Mapped[datetime]
    # When the scheduler handled it, UTC.
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("run.id", ondelete="SET NULL")
    )
    # Due times before this one that nobody fired (the scheduler was down), and
    # the first of them: they are caught up for by this single firing.
    missed: Mapped[int] = mapped_column(default=0)
    missed_since: Mapped[datetime | None]
    # True when there were more missed times than the scheduler counts.
    missed_more: Mapped[bool] = mapped_column(default=False)
    # Why it was skipped or refused, for a person to read.
    note: Mapped[str] = mapped_column(Text, default="")

    schedule: Mapped[Schedule] = relationship()
    run: Mapped[Run | None] = relationship()

    def __repr__(self) -> str:
        return f"<Firing {self.schedule_id} {self.occurrence} {self.outcome}>"
