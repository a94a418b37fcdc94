"""Job pages: the list, one job with its Run button and recent runs, the job form
with the job's schedule.

The forms only turn the request into plain values (ids, numbers, parsed
variables); `app.services.jobs` decides what a valid job is.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import (
    FieldList,
    FormField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import Optional

from app.extensions import db
from app.models import Job, JobKind, ParameterType, Playbook
from app.queue import settings
from app.recurrence import zone_names
from app.services import ServiceError
from app.services import credentials as credential_service
from app.services import groups as group_service
from app.services import hosts as host_service
from app.services import jobs as job_service
from app.services import options as option_service
from app.services import runs as run_service
from app.services import schedules as schedule_service
from app.validation import vars_to_text
from app.web.forms import (
    INVALID,
    VarsField,
    choices,
    optional_id,
    render_form,
    show_service_error,
)
from app.web.health import ensure_queued
from app.web.inputs import (
    TYPE_LABELS,
    OptionFields,
    ParameterRow,
    default_text,
    launch_form,
    launch_values,
    option_values,
    parameter_rows,
    row_aliases,
    row_data,
    split_fields,
    value_aliases,
)
from app.web.schedules import (
    ScheduleFields,
    form_preview,
    schedule_data,
    schedule_spec,
)
from app.web.uploads import (
    ALIASES,
    UploadFields,
    ask_again,
    show_upload,
    upload_input,
)

log = logging.getLogger(__name__)

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
bp.add_app_template_global(split_fields)
bp.add_app_template_global(default_text)

# The run options the job form sets but forks, which the service takes apart.
OPTION_NAMES = tuple(name for name in option_service.NAMES if name != "forks")
# Runs a job page lists; the runs page filtered by the job has them all.
RECENT_RUNS = 20
SORTS = {"newest": Job.id.desc(), "name": Job.name}


class TargetsMixin:
    """Where a job runs and as whom; shared with the quick command form."""

    hosts = SelectMultipleField("Hosts", coerce=int, validate_choice=False)
    groups = SelectMultipleField("Groups", coerce=int, validate_choice=False)
    credential = SelectField(
        "Credential", coerce=optional_id, validate_choice=False, default=None
    )


class JobForm(TargetsMixin, OptionFields, ScheduleFields, UploadFields, FlaskForm):
    name = StringField("Name", render_kw={"maxlength": 255, "autocomplete": "off"})
    kind = RadioField(
        "Kind",
        choices=[
            SelectChoice(JobKind.ADHOC, "Ad-hoc module"),
            SelectChoice(JobKind.PLAYBOOK, "Playbook"),
            SelectChoice(JobKind.UPLOAD, "Upload files"),
        ],
        default=JobKind.ADHOC,
        validate_choice=False,
    )
    # Any value is taken here; the service answers "Unknown module" for the rest.
    module = SelectField("Module", validate_choice=False, default="")
    args = StringField("Module arguments", render_kw={"autocomplete": "off"})
    playbook = SelectField(
        "Playbook", coerce=optional_id, validate_choice=False, default=None
    )
    timeout = IntegerField(
        "Timeout (seconds)",
        validators=[Optional()],
        render_kw={"min": 1, "max": 86400, "placeholder": "default"},
    )
    extra_vars = VarsField(
        "Extra variables",
        render_kw={"rows": 6, "spellcheck": "false", "placeholder": "colour: teal"},
    )
    parameters = FieldList(FormField(ParameterRow))
    add_parameter = SubmitField("Add a parameter")


def fill_target_choices(form: FlaskForm) -> None:
    """Hosts, groups and credentials to pick from, read fresh for each page."""
    form.hosts.choices = choices(host_service.all_hosts())
    form.groups.choices = choices(group_service.all_groups())
    form.credential.choices = [
        SelectChoice("", "— none —"),
        *choices(credential_service.all_credentials()),
    ]


def module_choices(blank: bool) -> list[SelectChoice]:
    """The modules of the allow-list; `blank` puts "choose" first."""
    modules = [SelectChoice(module) for module in settings().adhoc_modules]
    return [SelectChoice("", "— choose —"), *modules] if blank else modules


def _fill_choices(form: JobForm) -> None:
    fill_target_choices(form)
    form.module.choices = module_choices(blank=True)
    form.playbook.choices = [
        SelectChoice("", "— choose —"),
        *choices(db.session.scalars(select(Playbook).order_by(Playbook.name))),
    ]


def _values(form: JobForm, rows: list) -> dict[str, Any]:
    """The service's keyword arguments, from a form that parsed."""
    return {
        "name": form.name.data or "",
        "kind": form.kind.data or "",
        "module": form.module.data or "",
        "args": form.args.data or "",
        "playbook_id": form.playbook.data,
        "host_ids": form.hosts.data or [],
        "group_ids": form.groups.data or [],
        "credential_id": form.credential.data,
        "forks": form.forks.data,
        "timeout": form.timeout.data,
        "extra_vars": form.extra_vars.parsed,
        "schedule": schedule_spec(form),
        "upload": upload_input(form),
        "parameters": [definition for _, definition in rows],
        "options": option_values(form, OPTION_NAMES),
        "ask_at_launch": list(form.ask_at_launch.data or []),
    }


def _submit(form: JobForm, job: Job | None) -> Job | None:
    """Save a posted form through the service; None when it shows errors instead.

    When some field cannot be parsed the service still checks the others, so
    every problem of the form shows at once rather than one round at a time.
    """
    if not form.is_submitted():
        return None
    parsed = form.validate()
    rows = parameter_rows(form)
    values = _values(form, rows)
    # A default that cannot be read stops the save, as a field that does not parse.
    parsed = parsed and not any(entry.form.default.errors for entry, _ in rows)

    try:
        if not parsed:
            job_service.check_job(job, **values)
        elif job is None:
            return job_service.create_job(**values)
        else:
            return job_service.update_job(job, **values)
    except ServiceError as exc:
        show_service_error(form, exc, ALIASES | row_aliases(rows))
    else:
        flash(job_service.NOT_SAVED, "error")
    ask_again(form)
    return None


def _form_data(job: Job) -> dict[str, Any]:
    return {
        "name": job.name,
        "kind": job.kind,
        "module": job.module,
        "args": job.args,
        "playbook": job.playbook_id,
        "hosts": [host.id for host in job.hosts],
        "groups": [group.id for group in job.groups],
        "credential": job.credential_id,
        "timeout": job.timeout,
        "extra_vars": vars_to_text(job.extra_vars),
        "parameters": row_data(job.parameters or []),
        "ask_at_launch": list(job.ask_at_launch or ()),
        **option_service.of_job(job),
    } | schedule_data(job.schedule)  # type: ignore[attr-defined]


def _get_job(job_id: int) -> Job:
    """A listed job; hidden jobs stand behind quick commands and have no page."""
    job = db.get_or_404(Job, job_id)
    if job.hidden:
        abort(404)
    return job


@bp.get("/")
def index():
    sort = request.args.get("sort", "newest")
    if sort not in SORTS:
        sort = "newest"

    query = (
        select(Job)
        .where(Job.hidden.is_(False))
        .options(
            selectinload(Job.hosts),
            selectinload(Job.groups),
            selectinload(Job.playbook),
        )
        .order_by(SORTS[sort], Job.id.desc())
    )
    page = db.paginate(query, per_page=settings().page_size, error_out=False)
    last = job_service.last_runs(job.id for job in page.items)
    return render_template("jobs/index.html", page=page, last=last, sort=sort)


def _add_row(form: JobForm, job: Job | None) -> tuple[str, int] | None:
    """The "Add a parameter" button: the form comes back with one more row, and
    nothing is saved."""
    if request.method != "POST" or not form.add_parameter.data:
        return None
    form.parameters.append_entry()
    ask_again(form)
    page, _ = _render(form, job)
    return page, 200


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = JobForm()
    _fill_choices(form)
    added = _add_row(form, None)
    if added:
        return added

    job = _submit(form, None)
    if job is not None:
        flash(f"Job {job.name} created. Press Run to start it.", "info")
        return redirect(url_for("jobs.show", job_id=job.id))
    return _render(form, None)


@bp.get("/<int:job_id>")
def show(job_id: int):
    job = _get_job(job_id)
    runs = job_service.recent_runs(job, RECENT_RUNS)
    schedule = job.schedule  # type: ignore[attr-defined]
    return render_template(
        "jobs/show.html",
        job=job,
        runs=runs,
        limit=RECENT_RUNS,
        vars_text=vars_to_text(job.extra_vars),
        schedule=schedule,
        preview=schedule_service.describe_saved(schedule) if schedule else None,
        firings=schedule_service.firings(schedule) if schedule else [],
    )


@bp.route("/<int:job_id>/edit", methods=["GET", "POST"])
def edit(job_id: int):
    job = _get_job(job_id)
    form = JobForm() if request.method == "POST" else JobForm(data=_form_data(job))
    _fill_choices(form)
    added = _add_row(form, job)
    if added:
        return added

    if _submit(form, job) is not None:
        flash(f"Job {job.name} saved.", "info")
        return redirect(url_for("jobs.show", job_id=job.id))
    return _render(form, job)


def _render(form: JobForm, job: Job | None) -> tuple[str, int]:
    """The job form, with its schedule said in words as the preview says it."""
    show_upload(form, job)
    return render_form(
        "jobs/form.html",
        form,
        job=job,
        preview=form_preview(form, job),
        timezones=zone_names(),
    )


@bp.post("/<int:job_id>/delete")
def delete(job_id: int) -> Response:
    job = _get_job(job_id)
    name = job.name
    try:
        job_service.delete_job(job)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("jobs.show", job_id=job_id))
    flash(f"Job {name} and its runs were deleted.", "info")
    return redirect(url_for("jobs.index"))


@bp.route("/<int:job_id>/launch", methods=["GET", "POST"])
def launch(job_id: int):
    """The Run button: queue a run and follow it on its page.

    A job with parameters, or options asked at launch, shows the launch form
    first (GET); the form posts its answers here.
    """
    job = _get_job(job_id)
    parameters = job.parameters or []
    asked = job.ask_at_launch or []
    form_class = launch_form(parameters, asked)
    if request.method == "GET":
        form = form_class(data=option_service.of_job(job))
        return render_template("jobs/launch.html", form=form, job=job)

    form = form_class()
    parsed = form.validate()
    values = launch_values(form, parameters)
    options = option_values(form, asked)
    limit = options.pop("limit", None)
    if not parsed or form.errors:
        flash("The run was not launched: see the fields marked.", "error")
        return render_template("jobs/launch.html", form=form, job=job), INVALID
    try:
        run = run_service.launch(job, parameters=values, options=options, limit=limit)
    except ServiceError as exc:
        if not parameters and not asked:
            # The plain Run button: there is no form to correct.
            flash(exc.message, "error")
            return redirect(url_for("jobs.show", job_id=job.id))
        show_service_error(form, exc, value_aliases(parameters))
        return render_template("jobs/launch.html", form=form, job=job), INVALID
    ensure_queued(run)
    flash(f"Run {run.id} of {job.name} queued.", "info")
    return redirect(url_for("runs.show", run_id=run.id))


@bp.app_template_global()
def describe_options(job: Job) -> list[tuple[str, str]]:
    """A job's run options that differ from ansible's defaults, but forks,
    which its page always shows."""
    return option_service.described(option_service.of_job(job), but=("forks",))


@bp.app_template_global()
def option_labels(names: list[str]) -> list[str]:
    return [option_service.BY_NAME[name].label for name in names]


@bp.app_template_global()
def parameter_type_label(kind: str) -> str:
    return TYPE_LABELS[ParameterType(kind)]
