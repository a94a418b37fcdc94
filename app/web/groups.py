"""Group pages: the list, one group with its hosts and variables, the forms."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import Field, SelectMultipleField, StringField
from wtforms.validators import InputRequired, ValidationError

from app.extensions import db
from app.models import Group
from app.queue import settings
from app.services import groups as group_service
from app.services import hosts as host_service
from app.validation import vars_to_text
from app.web.forms import VarsField, choices, jobs_phrase, render_form, save_form

log = logging.getLogger(__name__)

bp = Blueprint("groups", __name__, url_prefix="/groups")


def _group_name(form: FlaskForm, field: Field) -> None:
    """The service's own rule, checked with the other fields for one answer."""
    error = group_service.group_name_error((field.data or "").strip())
    if error:
        raise ValidationError(error)


class GroupForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(), _group_name])
    vars = VarsField("Variables")
    hosts = SelectMultipleField("Hosts", coerce=int)


@bp.get("/")
def index():
    page = db.paginate(
        group_service.groups_query(),
        per_page=settings().page_size,
        error_out=False,
    )
    return render_template("groups/index.html", page=page)


@bp.get("/<int:group_id>")
def show(group_id: int):
    group = db.get_or_404(Group, group_id)
    return render_template(
        "groups/show.html",
        group=group,
        vars_text=vars_to_text(group.vars),
        jobs=group_service.jobs_targeting(group),
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = _form()
    group = save_form(
        form, "group", lambda: group_service.create_group(**_values(form))
    )
    if group is None:
        return render_form("groups/form.html", form, group=None)
    flash(f"Group {group.name} added.", "info")
    return redirect(url_for("groups.show", group_id=group.id))


@bp.route("/<int:group_id>/edit", methods=["GET", "POST"])
def edit(group_id: int):
    group = db.get_or_404(Group, group_id)
    form = _form(group)
    saved = save_form(
        form, "group", lambda: group_service.update_group(group, **_values(form))
    )
    if saved is None:
        return render_form("groups/form.html", form, group=group)
    flash(f"Group {group.name} saved.", "info")
    return redirect(url_for("groups.show", group_id=group.id))


@bp.post("/<int:group_id>/delete")
def delete(group_id: int):
    group = db.get_or_404(Group, group_id)
    name = group.name

    jobs = group_service.delete_group(group)

    message = f"Group {name} deleted; its hosts stay."
    if jobs:
        message += f" It was a target of {jobs_phrase(jobs)}."
    flash(message, "info")
    return redirect(url_for("groups.index"))


def _form(group: Group | None = None) -> GroupForm:
    """The form, filled from the group on a first view, from the request on a post."""
    data = None
    if group is not None and request.method == "GET":
        data = {
            "name": group.name,
            "vars": vars_to_text(group.vars),
            "hosts": [host.id for host in group.hosts],
        }
    form = GroupForm(data=data)
    form.hosts.choices = choices(host_service.all_hosts())
    return form


def _values(form: GroupForm) -> dict[str, Any]:
    return {
        "name": form.name.data,
        "vars": form.vars.parsed,
        "host_ids": form.hosts.data or [],
    }
