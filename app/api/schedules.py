"""/api/v1/schedules: every enabled schedule with its next run, soonest first;
and a job's schedule as the jobs' routes read and write it (`schedule`).

A job's schedule reads as it is written: one-off times are wall-clock times of
the schedule's zone, as on the job form. Its problems come back under the
form's field names (`schedule_cron`, ...), as the service names them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import jsonify

from app.api import bp
from app.api.common import iso
from app.api.schema import (
    ID,
    PAGING_PARAMETERS,
    ApiError,
    Field,
    json_response,
    object_problems,
    object_schema,
    operation,
    page_schema,
    paging,
    ref,
)
from app.models import IntervalUnit, Overlap, Schedule, ScheduleKind
from app.services import schedules as schedule_service
from app.services.schedules import MAX_INTERVAL, ScheduleSpec

# How a one-off time is written: a wall-clock time of the schedule's zone.
RUN_AT_FORMAT = "%Y-%m-%dT%H:%M"
_OVERLAPS = [overlap.value for overlap in Overlap]

SCHEDULE_FIELDS = {
    "kind": Field(
        "string",
        "cron (an expression read in `timezone`), interval, or once.",
        required=True,
        extra={"enum": [kind.value for kind in ScheduleKind]},
    ),
    "cron": Field(
        "string",
        "For cron: five fields, like 30 2 * * 1-5.",
        extra={"maxLength": 255, "default": ""},
    ),
    "timezone": Field(
        "string",
        "An IANA time zone (Europe/Berlin); empty for the default. Cron and "
        "one-off times are read in it.",
        extra={"maxLength": 64, "default": ""},
    ),
    "every": Field(
        "integer",
        "For interval: how many `unit`s, counted from when it is saved.",
        nullable=True,
        extra={"minimum": 1, "maximum": MAX_INTERVAL // 60},
    ),
    "unit": Field(
        "string",
        "For interval: minutes or hours.",
        extra={"enum": [unit.value for unit in IntervalUnit], "default": "minutes"},
    ),
    "run_at": Field(
        "string",
        "For once: the date and time, YYYY-MM-DDTHH:MM, in `timezone`.",
        nullable=True,
        extra={"maxLength": 32},
    ),
    "enabled": Field("boolean", "Whether it fires.", extra={"default": True}),
    "overlap": Field(
        "string",
        "While the job's previous run is queued or running: skip this firing "
        "(recorded) or allow it.",
        extra={"enum": _OVERLAPS, "default": "skip"},
    ),
}

SCHEDULE = Field(
    "object",
    "When the job runs by itself; null for never.",
    nullable=True,
    extra=object_schema(SCHEDULE_FIELDS, ["kind"]),
)

_TIME = {"format": "date-time"}
UPCOMING = {
    "id": ID,
    "job": ref("The id of its job."),
    "job_name": Field("string", "Its job's name."),
    "words": Field("string", "The schedule in words, with its time zone."),
    "timezone": Field("string", "The zone its times are read and shown in."),
    "next_run": Field(
        "string",
        "Its next run (UTC); null when none is left.",
        nullable=True,
        extra=_TIME,
    ),
    "next_run_local": Field(
        "string", "The same, in its time zone.", nullable=True, extra=_TIME
    ),
    "late": Field(
        "boolean", "Due a while ago and not fired yet: is the scheduler running?"
    ),
    "overlap": Field(
        "string", SCHEDULE_FIELDS["overlap"].description, extra={"enum": _OVERLAPS}
    ),
}


def schedule_json(schedule: Schedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    spec = schedule_service.spec_of(schedule)
    return {
        "kind": spec.kind,
        "cron": spec.cron,
        "timezone": spec.timezone,
        "every": spec.every,
        "unit": spec.unit,
        "run_at": spec.run_at.strftime(RUN_AT_FORMAT) if spec.run_at else None,
        "enabled": spec.enabled,
        "overlap": spec.overlap,
    }


def schedule_spec(value: dict[str, Any] | None) -> ScheduleSpec:
    """The service's spec from a request's `schedule`; 422 for wrong types."""
    if value is None:
        return ScheduleSpec(kind="")
    problems = object_problems(value, SCHEDULE_FIELDS, ["kind"], "schedule_")
    run_at = None
    if value.get("run_at") and "schedule_run_at" not in problems:
        try:
            run_at = datetime.strptime(value["run_at"], RUN_AT_FORMAT)
        except ValueError:
            problems["schedule_run_at"] = "Write it YYYY-MM-DDTHH:MM."
    if problems:
        raise ApiError(422, "Some fields are wrong: see fields.", problems)
    return ScheduleSpec(
        kind=value["kind"],
        cron=value.get("cron") or "",
        timezone=value.get("timezone") or "",
        every=value.get("every"),
        unit=value.get("unit") or IntervalUnit.MINUTES,
        run_at=run_at,
        enabled=value.get("enabled", True),
        overlap=value.get("overlap") or Overlap.SKIP,
    )


@bp.get("/schedules")
def schedules_list():
    """Every enabled schedule, soonest first: the upcoming page's list."""
    items = schedule_service.upcoming_schedules()
    number, per_page = paging()
    shown = items[(number - 1) * per_page : number * per_page]
    return jsonify(
        {
            "items": [
                {
                    "id": item.schedule.id,
                    "job": item.schedule.job_id,
                    "job_name": item.schedule.job.name,
                    "words": item.words,
                    "timezone": item.schedule.timezone,
                    "next_run": iso(item.due),
                    "next_run_local": (
                        item.next_due.isoformat() if item.next_due else None
                    ),
                    "late": item.late,
                    "overlap": item.schedule.overlap,
                }
                for item in shown
            ],
            "page": number,
            "per_page": per_page,
            "total": len(items),
            "pages": -(-len(items) // per_page),
        }
    )


SCHEMAS = {"Upcoming": UPCOMING}
PATHS = {
    "/schedules": {
        "get": operation(
            "Enabled schedules with their next run, soonest first",
            {200: json_response("A page of schedules.", page_schema("Upcoming"))},
            parameters=PAGING_PARAMETERS,
            tag="Schedules",
        )
    }
}
