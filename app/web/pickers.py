"""Host and group pickers of the job and quick command forms.

A picker is a list of checkboxes under a search box. Without JavaScript the form
lists every host (or group) and the box stays hidden; with it, typing asks this
blueprint for the list again (htmx), narrowed to what matches. The boxes already
ticked come first in every answer, so a search never loses a choice.

The form's first view lists every host, so that it works without JavaScript: an
inventory of thousands makes that page long (a scrolling box of them), and only
the search makes it quick to use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import Select, select

from app.extensions import db
from app.models import Group, Host
from app.services import groups as group_service
from app.services import hosts as host_service
from app.web.forms import choices

bp = Blueprint("pickers", __name__, url_prefix="/pickers")

# Matches one answer lists; a search narrower than that shows them all.
MATCHES = 50

_KINDS: dict[str, tuple[type, Callable[[str], Select[Any]]]] = {
    "hosts": (Host, host_service.hosts_query),
    "groups": (Group, group_service.groups_query),
}


@bp.get("/hosts")
def hosts():
    return _options("hosts")


@bp.get("/groups")
def groups():
    return _options("groups")


def _options(kind: str):
    """The checkboxes of a picker: the ticked ones, then those that match."""
    model, query = _KINDS[kind]
    search = request.args.get(f"{kind}_search", "").strip()
    ticked = request.args.getlist(kind, type=int)

    chosen = list(
        db.session.scalars(
            select(model).where(model.id.in_(ticked)).order_by(model.name)
        )
    )
    found = list(
        db.session.scalars(
            query(search).where(model.id.not_in(ticked)).limit(MATCHES + 1)
        )
    )
    return render_template(
        "jobs/_picker_options.html",
        kind=kind,
        chosen=choices(chosen),
        found=choices(found[:MATCHES]),
        more=len(found) > MATCHES,
        search=search,
    )
