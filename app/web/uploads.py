"""An upload job's part of the job form: the files (a multipart post with the
CSRF token like any form), the folder they go to, their owner and mode, and a
box per stored file to remove it. `app.services.uploads` checks them.

A browser cannot put files back into a file input, so when the form comes back
with errors the files chosen must be chosen again; the form says so.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectMultipleField, StringField, widgets

from app.models import Job, JobKind
from app.services.uploads import DEFAULT_MODE, NewFile, UploadInput, size_text

# The service's field names, as the form calls them.
ALIASES = {
    "dest": "upload_dest",
    "owner": "upload_owner",
    "mode": "upload_mode",
    "files": "upload_files",
}


class UploadFields:
    """Mixed into the job form, like its schedule's fields."""

    upload_files = MultipleFileField("Files", render_kw={"multiple": True})
    upload_remove = SelectMultipleField(
        "Remove",
        coerce=str,
        validate_choice=False,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    upload_dest = StringField(
        "Destination folder",
        render_kw={
            "autocomplete": "off",
            "spellcheck": "false",
            "placeholder": "/srv/app/conf",
        },
    )
    upload_owner = StringField(
        "Owner",
        render_kw={
            "autocomplete": "off",
            "spellcheck": "false",
            "placeholder": "deploy",
        },
    )
    upload_mode = StringField(
        "Mode",
        default=DEFAULT_MODE,
        render_kw={"autocomplete": "off", "maxlength": 4, "inputmode": "numeric"},
    )


def show_upload(form: FlaskForm, job: Job | None) -> None:
    """Before the form is shown: a box per stored file, by name, to remove it,
    and on a first view the job's destination, owner and mode."""
    upload = getattr(job, "upload", None)
    files = upload.files if upload is not None else []
    form.upload_remove.choices = [
        (file.name, f"{file.name} ({size_text(file.size)})") for file in files
    ]
    if upload is not None and not form.is_submitted():
        form.upload_dest.data = upload.dest
        form.upload_owner.data = upload.owner
        form.upload_mode.data = upload.mode


def upload_input(form: FlaskForm) -> UploadInput | None:
    """The service's `upload` from a posted form; None for another kind of job."""
    if form.kind.data != JobKind.UPLOAD:
        return None
    return UploadInput(
        dest=form.upload_dest.data or "",
        owner=form.upload_owner.data or "",
        mode=form.upload_mode.data or "",
        files=tuple(chosen(form)),
        remove=tuple(form.upload_remove.data or ()),
    )


def chosen(form: FlaskForm) -> list[NewFile]:
    """The files posted; an empty file input still sends one nameless part."""
    return [
        NewFile(storage.filename, storage.read())
        for storage in form.upload_files.data or []
        if getattr(storage, "filename", "")
    ]


def ask_again(form: FlaskForm) -> None:
    """A form sent back: files chosen were not kept, and must be chosen again."""
    if form.kind.data == JobKind.UPLOAD and any(
        getattr(storage, "filename", "") for storage in form.upload_files.data or []
    ):
        form.upload_files.errors = [
            *form.upload_files.errors,
            "Choose the files again: nothing was saved, and a browser cannot keep "
            "them in the form.",
        ]
