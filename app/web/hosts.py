"""Host pages: the list with a search, one host with its recent runs, the forms.

The small form helpers at the top (`VarsField`, `show_service_error`, `refused`,
`jobs_phrase`) are shared by the group and credential pages too.
"""

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
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

from app.extensions import db
from app.models import Connection, Host
from app.queue import settings
from app.services import ServiceError
from app.services import groups as group_service
from app.services import hosts as host_service
from app.validation import Invalid, parse_vars, vars_to_text

log = logging.getLogger(__name__)

bp = Blueprint("hosts", __name__, url_prefix="/hosts")

# A form sent back with errors answers 422, so HTMX and tests can tell it from a
# page that merely shows a form.
INVALID = 422
PORT_MESSAGE = "A port is a number from 1 to 65535."


class VarsField(TextAreaField):
    """Variables typed as YAML or JSON; `parsed` holds the mapping once valid."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parsed: dict[str, Any] = {}

    def pre_validate(self, form: FlaskForm) -> None:
        try:
            self.parsed = parse_vars(self.data or "")
        except Invalid as exc:
            raise ValidationError(str(exc)) from exc


def show_service_error(
    form: FlaskForm, error: ServiceError, aliases: dict[str, str] | None = None
) -> None:
    """Put a service's refusals on the form's fields.

    `aliases` maps a service's field name to the form's where they differ; a
    refusal for a field the form lacks, or one for no field, is shown above the
    form.
    """
    aliases = aliases or {}
    for name, message in error.fields.items():
        field: Field | None = form._fields.get(aliases.get(name, name))
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]
    if not error.fields:
        form.form_errors.append(error.message)


def refused(form: FlaskForm, template: str, what: str, **context: Any):
    """The form again with its errors, answered 422, and a flash that says so."""
    flash(f"The {what} was not saved: see the fields marked below.", "error")
    return render_template(template, form=form, **context), INVALID


def jobs_phrase(count: int) -> str:
    return "1 job" if count == 1 else f"{count} jobs"


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
    return render_template("hosts/index.html", page=page, search=search)


@bp.get("/<int:host_id>")
def show(host_id: int):
    host = db.get_or_404(Host, host_id)
    return render_template(
        "hosts/show.html",
        host=host,
        vars_text=vars_to_text(host.vars),
        jobs=host_service.jobs_targeting(host),
        runs=host_service.recent_runs(host),
        recent_limit=host_service.RECENT_RUNS,
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = _form()
    if form.validate_on_submit():
        try:
            host = host_service.create_host(**_values(form))
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(f"Host {host.name} added.", "info")
            return redirect(url_for("hosts.show", host_id=host.id))
    return _render_form(form, None)


@bp.route("/<int:host_id>/edit", methods=["GET", "POST"])
def edit(host_id: int):
    host = db.get_or_404(Host, host_id)
    form = _form(host)
    if form.validate_on_submit():
        try:
            host_service.update_host(host, **_values(form))
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(f"Host {host.name} saved.", "info")
            return redirect(url_for("hosts.show", host_id=host.id))
    return _render_form(form, host)


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
    form.groups.choices = [
        SelectChoice(str(group.id), group.name) for group in group_service.all_groups()
    ]
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


def _render_form(form: HostForm, host: Host | None):
    if request.method == "POST":
        return refused(form, "hosts/form.html", "host", host=host)
    return render_template("hosts/form.html", form=form, host=host)
