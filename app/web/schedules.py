"""Schedule pages: the upcoming list, the preview the job form asks for while one
types, and the buttons that enable and disable a job's schedule.

A schedule is edited with its job: `ScheduleFields` are part of the job form
(`app.web.jobs`), and `app.services.jobs` saves both together.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import Optional

from app.extensions import db
from app.models import IntervalUnit, Job, Overlap, Schedule, ScheduleKind
from app.recurrence import to_local, zone
from app.services import ServiceError
from app.services import scheduler as scheduler_service
from app.services import schedules as schedule_service
from app.services.schedules import Preview, ScheduleSpec

log = logging.getLogger(__name__)

bp = Blueprint("schedules", __name__, url_prefix="/schedules")

# What a browser's datetime-local input sends, with or without seconds.
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class ScheduleFields:
    """A job's schedule, as the job form and the preview read it."""

    schedule_kind = RadioField(
        "Schedule",
        choices=[
            SelectChoice("", "None: run it by hand"),
            SelectChoice(ScheduleKind.CRON, "Cron"),
            SelectChoice(ScheduleKind.INTERVAL, "Every…"),
            SelectChoice(ScheduleKind.ONCE, "Once"),
        ],
        default="",
        validate_choice=False,
    )
    schedule_cron = StringField(
        "Cron expression",
        render_kw={
            "autocomplete": "off",
            "spellcheck": "false",
            "placeholder": "30 2 * * 1-5",
        },
    )
    schedule_every = IntegerField(
        "Every", validators=[Optional()], render_kw={"min": 1, "placeholder": "15"}
    )
    schedule_unit = SelectField(
        "Unit",
        choices=[SelectChoice(unit, unit) for unit in IntervalUnit],
        default=IntervalUnit.MINUTES,
        validate_choice=False,
    )
    schedule_run_at = DateTimeLocalField(
        "Date and time", format=DATETIME_FORMATS, validators=[Optional()]
    )
    schedule_timezone = StringField(
        "Time zone",
        render_kw={"list": "timezones", "autocomplete": "off", "spellcheck": "false"},
    )
    schedule_enabled = BooleanField("Enabled", default=True)
    schedule_overlap = RadioField(
        "While the job's previous run is still queued or running",
        choices=[
            SelectChoice(Overlap.SKIP, "Skip this time (the skip is recorded)"),
            SelectChoice(Overlap.ALLOW, "Run anyway"),
        ],
        default=Overlap.SKIP,
        validate_choice=False,
    )


class PreviewForm(ScheduleFields, FlaskForm):
    class Meta:
        csrf = False  # a GET that changes nothing


def schedule_spec(form: Any) -> ScheduleSpec:
    """The service's spec from a form's parsed schedule fields."""
    return ScheduleSpec(
        kind=form.schedule_kind.data or "",
        cron=form.schedule_cron.data or "",
        timezone=form.schedule_timezone.data or "",
        every=form.schedule_every.data,
        unit=form.schedule_unit.data or IntervalUnit.MINUTES,
        run_at=form.schedule_run_at.data,
        enabled=bool(form.schedule_enabled.data),
        overlap=form.schedule_overlap.data or Overlap.SKIP,
    )


def schedule_data(schedule: Schedule | None) -> dict[str, Any]:
    """A saved schedule (or none) as the form's data, its times in its zone."""
    spec = schedule_service.spec_of(schedule)
    return {
        "schedule_kind": spec.kind,
        "schedule_cron": spec.cron,
        "schedule_every": spec.every,
        "schedule_unit": spec.unit,
        "schedule_run_at": spec.run_at,
        "schedule_timezone": spec.timezone,
        "schedule_enabled": spec.enabled,
        "schedule_overlap": spec.overlap,
    }


def form_preview(form: Any, job: Job | None) -> Preview | None:
    """The preview of a form's schedule fields; fields that do not even parse
    keep their own message.
    """
    parse_errors = {
        name: errors[0]
        for name, errors in form.errors.items()
        if name.startswith("schedule_") and errors
    }
    result = schedule_service.preview(schedule_spec(form), job=job)
    if result is None or not parse_errors:
        return result
    return Preview(
        errors=parse_errors
        | {k: v for k, v in result.errors.items() if k not in parse_errors},
        enabled=result.enabled,
    )


@bp.get("/")
def index():
    """Every enabled schedule with its next due time, soonest first."""
    return render_template(
        "schedules/index.html",
        items=schedule_service.upcoming_schedules(),
        schedulers=scheduler_service.schedulers_alive(),
    )


@bp.get("/preview")
def preview():
    """The schedule typed so far in words, with its next due times or its errors.

    The job form's schedule fields ask for it as they change (HTMX); `job` names
    the job being edited, whose unchanged schedule keeps its own reckoning.
    """
    job_id = request.args.get("job", type=int)
    job = db.session.get(Job, job_id) if job_id is not None else None
    form = PreviewForm(request.args)
    form.validate()
    return render_template("schedules/_preview.html", preview=form_preview(form, job))


@bp.post("/<int:schedule_id>/enable")
def enable(schedule_id: int) -> Response:
    return _set_enabled(schedule_id, True)


@bp.post("/<int:schedule_id>/disable")
def disable(schedule_id: int) -> Response:
    return _set_enabled(schedule_id, False)


def _set_enabled(schedule_id: int, enabled: bool) -> Response:
    schedule = db.get_or_404(Schedule, schedule_id)
    job_id = schedule.job_id
    try:
        schedule_service.set_enabled(schedule, enabled)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        state = "enabled" if enabled else "disabled; it keeps its definition"
        flash(f"Schedule {state}.", "info")
    return redirect(url_for("jobs.show", job_id=job_id))


@bp.app_template_filter("in_zone")
def in_zone(value: datetime | None, zone_name: str) -> str:
    """A stored UTC time as the wall-clock time of a zone, with its abbreviation."""
    if value is None:
        return "—"
    return to_local(value, zone(zone_name)).strftime("%a %d %b %Y, %H:%M %Z")
