"""The quick command: one ad-hoc module on some hosts, run at once.

Behind each quick command stands a hidden job, so its run has a history like any
other; the job itself never shows among the jobs.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField

from app.services import ServiceError
from app.services import jobs as job_service
from app.web.forms import render_form, show_service_error
from app.web.health import ensure_queued
from app.web.jobs import TargetsMixin, fill_target_choices, module_choices

log = logging.getLogger(__name__)

bp = Blueprint("quick", __name__, url_prefix="/quick")

# Quick command runs listed under the form.
RECENT_RUNS = 10


class QuickForm(TargetsMixin, FlaskForm):
    # Any value is taken here; the service answers "Unknown module" for the rest.
    module = SelectField("Module", validate_choice=False, default="shell")
    args = StringField(
        "Arguments",
        render_kw={"autocomplete": "off", "placeholder": "uptime"},
    )


@bp.get("/")
def index() -> Response:
    return redirect(url_for("quick.new"))


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = QuickForm()
    fill_target_choices(form)
    form.module.choices = module_choices(blank=False)

    if form.validate_on_submit():
        try:
            run = job_service.run_quick_command(
                module=form.module.data or "",
                args=form.args.data or "",
                host_ids=form.hosts.data or [],
                group_ids=form.groups.data or [],
                credential_id=form.credential.data,
            )
        except ServiceError as exc:
            show_service_error(form, exc)
        else:
            ensure_queued(run)
            flash(f"Run {run.id} queued.", "info")
            return redirect(url_for("runs.show", run_id=run.id))

    recent = job_service.recent_quick_runs(RECENT_RUNS)
    return render_form("quick/new.html", form, recent=recent)
