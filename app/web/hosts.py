"""Host pages: the list with a search, one host with its recent runs, the forms."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import (
    Field,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

from app.extensions import db
from app.models import Connection, Host, utcnow
from app.models.run_host import WENT_WRONG
from app.queue import settings
from app.services import groups as group_service
from app.services import hosts as host_service
from app.validation import vars_to_text
from app.web.forms import VarsField, choices, jobs_phrase, render_form, save_form

log = logging.getLogger(__name__)

bp = Blueprint("hosts", __name__, url_prefix="/hosts")

PORT_MESSAGE = "A port is a number from 1 to 65535."


def _host_name(form: FlaskForm, field: Field) -> None:
    """The service's own rule, checked with the other fields for one answer."""
    error = host_service.host_name_error((field.data or "").strip())
    if error:
        raise ValidationError(error)


class HostForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(), _host_name])
    address = StringField("Address", validators=[InputRequired(), Length(max=255)])
    port = IntegerField(
        "Port",
        default=22,
        validators=[InputRequired(PORT_MESSAGE), NumberRange(1, 65535, PORT_MESSAGE)],
    )
    connection = SelectField(
        "Connection",
        choices=[
            SelectChoice(Connection.SSH.value, "ssh: over SSH"),
            SelectChoice(Connection.LOCAL.value, "local: on the worker itself"),
        ],
        default=Connection.SSH.value,
    )
    vars = VarsField("Variables")
    groups = SelectMultipleField("Groups", coerce=int)


@bp.get("/")
def index():
    search = request.args.get("q", "").strip()
    page = db.paginate(
        host_service.hosts_query(search),
        per_page=settings().page_size,
        error_out=False,
    )
    health = host_service.health((host.name for host in page.items), utcnow())
    return render_template(
        "hosts/index.html",
        page=page,
        search=search,
        health=health,
        health_days=host_service.HEALTH_DAYS,
    )


@bp.get("/<int:host_id>")
def show(host_id: int):
    host = db.get_or_404(Host, host_id)
    runs = host_service.recent_runs(host)
    return render_template(
        "hosts/show.html",
        host=host,
        vars_text=vars_to_text(host.vars),
        jobs=host_service.jobs_targeting(host),
        runs=runs,
        went_wrong=sum(row.result.outcome in WENT_WRONG for row in runs),
        by_job=host_service.last_result_by_job(host),
        recent_limit=host_service.RECENT_RUNS,
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = _form()
    host = save_form(form, "host", lambda: host_service.create_host(**_values(form)))
    if host is None:
        return render_form("hosts/form.html", form, host=None)
    flash(f"Host {host.name} added.", "info")
    return redirect(url_for("hosts.show", host_id=host.id))


@bp.route("/<int:host_id>/edit", methods=["GET", "POST"])
def edit(host_id: int):
    host = db.get_or_404(Host, host_id)
    form = _form(host)
    saved = save_form(
        form, "host", lambda: host_service.update_host(host, **_values(form))
    )
    if saved is None:
        return render_form("hosts/form.html", form, host=host)
    flash(f"Host {host.name} saved.", "info")
    return redirect(url_for("hosts.show", host_id=host.id))


@bp.post("/<int:host_id>/delete")
def delete(host_id: int):
    host = db.get_or_404(Host, host_id)
    name = host.name

    jobs = host_service.delete_host(host)

    message = f"Host {name} deleted."
    if jobs:
        message += f" It was a target of {jobs_phrase(jobs)}."
    flash(message, "info")
    return redirect(url_for("hosts.index"))


def _form(host: Host | None = None) -> HostForm:
    """The form, filled from the host on a first view, from the request on a post."""
    data = None
    if host is not None and request.method == "GET":
        data = {
            "name": host.name,
            "address": host.address,
            "port": host.port,
            "connection": host.connection,
            "vars": vars_to_text(host.vars),
            "groups": [group.id for group in host.groups],
        }
    form = HostForm(data=data)
    form.groups.choices = choices(group_service.all_groups())
    return form


def _values(form: HostForm) -> dict[str, Any]:
    return {
        "name": form.name.data,
        "address": form.address.data,
        "port": form.port.data,
        "connection": form.connection.data,
        "vars": form.vars.parsed,
        "group_ids": form.groups.data or [],
    }
