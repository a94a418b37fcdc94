"""Playbook pages: the list and the form that edits a playbook's files.

The form works without JavaScript: each file is a block of a name and a text, and
"Add another file" posts the form back with one more empty block. A block left
empty (no name, no text) is dropped on save, which is also how a file is removed.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import FieldList, Form, FormField, StringField, SubmitField, TextAreaField

from app.extensions import db
from app.models import Playbook
from app.queue import settings
from app.services import ServiceError
from app.services import playbooks as playbook_service
from app.web.forms import INVALID, show_service_error

log = logging.getLogger(__name__)

bp = Blueprint("playbooks", __name__, url_prefix="/playbooks")

EXAMPLE = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: say hello
      ansible.builtin.debug:
        msg: "hello from {{ inventory_hostname }}"
"""


class FileForm(Form):
    """One file of the project; a plain Form, the outer form carries the CSRF token."""

    name = StringField(
        "File name",
        render_kw={"placeholder": "site.yml", "autocomplete": "off", "maxlength": 255},
    )
    content = TextAreaField(
        "Text",
        render_kw={
            "rows": 16,
            "spellcheck": "false",
            "wrap": "off",
            "class": "code",
            "placeholder": EXAMPLE,
        },
    )


class PlaybookForm(FlaskForm):
    name = StringField("Name", render_kw={"maxlength": 255, "autocomplete": "off"})
    entry = StringField(
        "Entry file",
        default="site.yml",
        render_kw={"list": "entry-files", "autocomplete": "off"},
    )
    files = FieldList(FormField(FileForm), min_entries=1)
    add_file = SubmitField("Add another file")
    save = SubmitField("Save playbook")


Block = tuple[FormField, str, str]


def _blocks(form: PlaybookForm) -> list[Block]:
    """The file blocks that hold something, with their name and text."""
    blocks = []
    for block in form.files:
        name = block.form.name.data or ""
        text = block.form.content.data or ""
        if name.strip() or text.strip():
            blocks.append((block, name, text))
    return blocks


def _aliases(blocks: list[Block]) -> dict[str, str]:
    """The service numbers only the files it was given: `files.<index>.<part>`."""
    return {
        f"files.{index}.{part}": block.form[part].name
        for index, (block, _, _) in enumerate(blocks)
        for part in ("name", "content")
    }


def _save(form: PlaybookForm, playbook: Playbook | None) -> Playbook | None:
    """Save through the service; None when it refused and the form shows why."""
    blocks = _blocks(form)
    values = {
        "name": form.name.data or "",
        "entry": form.entry.data or "",
        "files": [(name, text) for _, name, text in blocks],
    }
    try:
        if playbook is None:
            return playbook_service.create_playbook(**values)
        return playbook_service.update_playbook(playbook, **values)
    except ServiceError as exc:
        show_service_error(form, exc, _aliases(blocks))
        return None


def _render_form(form: PlaybookForm, playbook: Playbook | None, status: int):
    users = playbook_service.jobs_using(playbook) if playbook else []
    names = [
        block.form.name.data for block in form.files if (block.form.name.data or "")
    ]
    return (
        render_template(
            "playbooks/form.html",
            form=form,
            playbook=playbook,
            users=users,
            file_names=names,
        ),
        status,
    )


def _handle(form: PlaybookForm, playbook: Playbook | None):
    """The POST of the form: one more block, or a save."""
    if form.add_file.data:
        # Only a new block is wanted: nothing is checked or saved yet.
        form.files.append_entry()
        return _render_form(form, playbook, 200)

    if form.validate_on_submit():
        saved = _save(form, playbook)
        if saved is not None:
            flash(f"Playbook {saved.name} saved.", "info")
            return redirect(url_for("playbooks.index"))
    return _render_form(form, playbook, INVALID)


@bp.get("/")
def index():
    query = (
        select(Playbook).options(selectinload(Playbook.files)).order_by(Playbook.name)
    )
    page = db.paginate(query, per_page=settings().page_size, error_out=False)
    counts = playbook_service.job_counts()
    return render_template("playbooks/index.html", page=page, counts=counts)


@bp.get("/<int:playbook_id>")
def show(playbook_id: int):
    """A playbook's files, to read: viewers see this page, not the form."""
    playbook = db.get_or_404(Playbook, playbook_id)
    # The entry file first: it is where a reader starts.
    files = sorted(playbook.files, key=lambda file: file.name != playbook.entry)
    return render_template(
        "playbooks/show.html",
        playbook=playbook,
        files=files,
        users=playbook_service.jobs_using(playbook),
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    if request.method == "GET":
        form = PlaybookForm(data={"files": [{"name": "site.yml", "content": ""}]})
        return _render_form(form, None, 200)
    return _handle(PlaybookForm(), None)


@bp.route("/<int:playbook_id>/edit", methods=["GET", "POST"])
def edit(playbook_id: int):
    playbook = db.get_or_404(Playbook, playbook_id)
    if request.method == "GET":
        # The entry file first: it is where a reader starts.
        files = sorted(playbook.files, key=lambda file: file.name != playbook.entry)
        data = {"name": playbook.name, "entry": playbook.entry, "files": files}
        form = PlaybookForm(data=data)
        return _render_form(form, playbook, 200)
    return _handle(PlaybookForm(), playbook)


@bp.post("/<int:playbook_id>/delete")
def delete(playbook_id: int) -> Response:
    playbook = db.get_or_404(Playbook, playbook_id)
    name = playbook.name
    try:
        playbook_service.delete_playbook(playbook)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("playbooks.edit", playbook_id=playbook_id))
    flash(f"Playbook {name} deleted.", "info")
    return redirect(url_for("playbooks.index"))
