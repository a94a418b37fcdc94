"""Schedules of jobs: checking and saving them, saying them in words with their
next due times, enabling and disabling them, and what the upcoming page lists.

A job is saved with its schedule by `app.services.jobs`, which calls `checked` and
`apply` here so that a job and its schedule are refused or saved together. Every
change ends with `app.services.scheduler.reconcile_after_change`, which brings
the scheduler's entries in line.

Times are stored in UTC. A one-off time is typed as a wall-clock time of the
schedule's zone and shown back in it; so are the next due times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Firing,
    IntervalUnit,
    Job,
    Overlap,
    Schedule,
    ScheduleKind,
)
from app.models.schedule import minute_floor
from app.models.timeutil import utcnow
from app.queue import settings
from app.recurrence import check_cron, to_local, to_utc, upcoming, zone
from app.services import ServiceError
from app.services.scheduler import reconcile_after_change
from app.validation import Invalid

log = logging.getLogger(__name__)

# Due times the form and the job page show.
PREVIEW_COUNT = 5
# The longest interval: a year and a day, in seconds.
MAX_INTERVAL = 366 * 86400
# A schedule whose due time is this far behind is shown as late: the scheduler
# ticks every few seconds, so it is likely not running.
LATE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule as a form or the API hands it over. `kind` "" means none.

    `run_at` is a wall-clock time of `timezone` (naive); `timezone` "" means the
    default zone of the settings.
    """

    kind: str = ""
    cron: str = ""
    timezone: str = ""
    every: int | None = None
    unit: str = IntervalUnit.MINUTES
    run_at: datetime | None = None
    enabled: bool = True
    overlap: str = Overlap.SKIP


def checked(
    spec: ScheduleSpec, errors: dict[str, str], now: datetime
) -> dict[str, object] | None:
    """The columns to store for `spec`, or None for no schedule.

    Problems go into `errors` under the form's field names (`schedule_cron`...);
    the values returned are then incomplete and must not be stored.
    """
    kind = spec.kind or ""
    if not kind:
        return None
    if kind not in tuple(ScheduleKind):
        errors["schedule_kind"] = "Choose cron, every, or once."
        return {}

    zone_name = (spec.timezone or settings().timezone).strip()
    try:
        zone(zone_name)
    except Invalid as exc:
        errors["schedule_timezone"] = str(exc)

    values: dict[str, object] = {
        "kind": kind,
        "timezone": zone_name,
        "enabled": bool(spec.enabled),
        "cron": "",
        "every": None,
        "unit": IntervalUnit.MINUTES,
        "run_at": None,
    }
    if kind == ScheduleKind.CRON:
        values["cron"] = " ".join((spec.cron or "").split())
        # With an unknown zone, the expression is still checked, in UTC.
        cron_zone = "UTC" if "schedule_timezone" in errors else zone_name
        _check_cron(str(values["cron"]), cron_zone, errors, now)
    elif kind == ScheduleKind.INTERVAL:
        values["every"], values["unit"] = spec.every, spec.unit
        _check_interval(spec.every, spec.unit, errors)
    else:
        values["run_at"] = _check_once(spec, zone_name, errors, now)

    if spec.overlap not in tuple(Overlap):
        errors["schedule_overlap"] = "Choose skip or run anyway."
    values["overlap"] = spec.overlap
    return values


def _check_cron(
    expression: str, zone_name: str, errors: dict[str, str], now: datetime
) -> None:
    if not expression:
        errors["schedule_cron"] = "Type a cron expression, like 30 2 * * *."
        return
    try:
        check_cron(expression, zone_name, now)
    except Invalid as exc:
        errors["schedule_cron"] = str(exc)


def _check_interval(every: int | None, unit: str, errors: dict[str, str]) -> None:
    if unit not in tuple(IntervalUnit):
        errors["schedule_unit"] = "Choose minutes or hours."
        return
    if type(every) is not int or every < 1:
        errors["schedule_every"] = f"How many {unit}: a whole number, 1 or more."
    elif every * IntervalUnit(unit).seconds > MAX_INTERVAL:
        errors["schedule_every"] = "An interval is at most 366 days."


def _check_once(
    spec: ScheduleSpec, zone_name: str, errors: dict[str, str], now: datetime
) -> datetime | None:
    if spec.run_at is None:
        errors["schedule_run_at"] = "Pick the date and time to run at."
        return None
    try:
        at = to_utc(minute_floor(spec.run_at), zone(zone_name))
    except Invalid as exc:
        if "schedule_timezone" not in errors:
            errors["schedule_run_at"] = str(exc)
        return None
    if spec.enabled and at <= now:
        local = to_local(now, zone(zone_name))
        errors["schedule_run_at"] = (
            f"That time has passed (it is {local:%Y-%m-%d %H:%M} in {zone_name}): "
            "pick one in the future."
        )
    return at


def apply(job: Job, values: dict[str, object] | None, now: datetime) -> None:
    """Give the job the schedule `checked` returned (None removes it); no commit.

    Due times count from now when the times change or the schedule is enabled
    again: nothing from before fires late.
    """
    current: Schedule | None = job.schedule  # type: ignore[attr-defined]
    if values is None:
        if current is not None:
            job.schedule = None  # type: ignore[attr-defined]
        return

    schedule = current or Schedule()
    before = schedule.definition() if current is not None else None
    was_enabled = current is not None and current.enabled
    for key, value in values.items():
        setattr(schedule, key, value)
    if current is None:
        schedule.effective_from = minute_floor(now)
        job.schedule = schedule  # type: ignore[attr-defined]
    elif schedule.definition() != before or (schedule.enabled and not was_enabled):
        schedule.effective_from = minute_floor(now)


def set_enabled(schedule: Schedule, enabled: bool, now: datetime | None = None) -> None:
    """Turn a schedule on or off, keeping its definition.

    Turned on again, it counts from now: the due times while it was off are not
    caught up.
    """
    now = now or utcnow()
    if enabled == schedule.enabled:
        return
    if enabled:
        if schedule.kind == ScheduleKind.ONCE and (schedule.run_at or now) <= now:
            raise ServiceError(
                "The time of this one-off schedule has passed: edit the job and "
                "pick a new time.",
                {"schedule_run_at": "This time has passed."},
            )
        schedule.effective_from = minute_floor(now)
    schedule.enabled = enabled
    db.session.commit()
    log.info("schedule %s of job %s enabled=%s", schedule.id, schedule.job_id, enabled)
    reconcile_after_change()


@dataclass
class Preview:
    """A schedule in words with its next due times (aware, in its zone)."""

    words: str = ""
    zone: str = ""
    times: list[datetime] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    # A due time already past that the scheduler has not fired yet.
    late: bool = False


def preview(
    spec: ScheduleSpec, now: datetime | None = None, job: Job | None = None
) -> Preview | None:
    """What `spec` would do if saved now on `job`; None for no schedule.

    An unchanged schedule of `job` keeps its own reckoning (an interval its start,
    a schedule behind its missed due time).
    """
    now = now or utcnow()
    errors: dict[str, str] = {}
    values = checked(spec, errors, now)
    if values is None:
        return None
    if errors:
        return Preview(errors=errors, enabled=spec.enabled)

    schedule = Schedule(**values)  # transient: never added to the session
    schedule.effective_from = minute_floor(now)
    current: Schedule | None = job.schedule if job else None  # type: ignore[attr-defined]
    if current is not None:
        schedule.effective_from = current.effective_from
        if schedule.definition() == current.definition():
            return describe(schedule, current.handled_until(), now)
        schedule.effective_from = minute_floor(now)
    return describe(schedule, schedule.effective_from, now)


def describe(schedule: Schedule, start: datetime, now: datetime) -> Preview:
    """The schedule in words with its due times after `start` (UTC)."""
    rule = schedule.recurrence()
    times = upcoming(rule, start, PREVIEW_COUNT)
    tz = zone(schedule.timezone)
    return Preview(
        words=rule.words(),
        zone=schedule.timezone,
        times=[to_local(due, tz) for due in times],
        enabled=schedule.enabled,
        late=bool(times) and schedule.enabled and times[0] < now - LATE_AFTER,
    )


# The columns a schedule is made of, besides its job and its reckoning.
_DEFINITION = (
    "kind",
    "cron",
    "timezone",
    "every",
    "unit",
    "run_at",
    "enabled",
    "overlap",
)


def describe_saved(schedule: Schedule, now: datetime | None = None) -> Preview:
    """A saved schedule with the due times it has not handled yet; a disabled
    one with those it would have if enabled now (it counts from then).
    """
    now = now or utcnow()
    if schedule.enabled:
        return describe(schedule, schedule.handled_until(), now)
    enabled_now = Schedule(**{name: getattr(schedule, name) for name in _DEFINITION})
    enabled_now.effective_from = minute_floor(now)
    return describe(enabled_now, enabled_now.effective_from, now)


@dataclass
class Upcoming:
    schedule: Schedule
    # The next due time, UTC, and in the schedule's zone; None when none is left.
    due: datetime | None
    next_due: datetime | None
    late: bool
    words: str


def upcoming_schedules(now: datetime | None = None) -> list[Upcoming]:
    """Every enabled schedule with its next due time, soonest first."""
    now = now or utcnow()
    schedules = db.session.scalars(
        select(Schedule)
        .join(Schedule.job)
        .where(Schedule.enabled)
        .options(selectinload(Schedule.job))
        .order_by(Job.name)
    )
    found = []
    for schedule in schedules:
        due = schedule.next_due()
        found.append(
            Upcoming(
                schedule=schedule,
                due=due,
                next_due=to_local(due, zone(schedule.timezone)) if due else None,
                late=due is not None and due < now - LATE_AFTER,
                words=schedule.recurrence().words(),
            )
        )
    found.sort(key=lambda item: (item.due is None, item.due or datetime.min))
    return found


def firings(schedule: Schedule, limit: int = 20) -> list[Firing]:
    """The schedule's latest firings, newest first."""
    return list(
        db.session.scalars(
            select(Firing)
            .where(Firing.schedule_id == schedule.id)
            .options(selectinload(Firing.run))
            .order_by(Firing.occurrence.desc())
            .limit(limit)
        )
    )


def spec_of(schedule: Schedule | None) -> ScheduleSpec:
    """A saved schedule as a spec, to fill a form with (times in its zone)."""
    if schedule is None:
        return ScheduleSpec(timezone=settings().timezone)
    run_at = None
    if schedule.run_at is not None:
        run_at = to_local(schedule.run_at, zone(schedule.timezone)).replace(tzinfo=None)
    return ScheduleSpec(
        kind=schedule.kind,
        cron=schedule.cron,
        timezone=schedule.timezone,
        every=schedule.every,
        unit=schedule.unit,
        run_at=run_at,
        enabled=schedule.enabled,
        overlap=schedule.overlap,
    )
