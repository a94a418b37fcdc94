"""Credential pages: the list, one credential, the forms.

A secret goes from the form to the service and nowhere else: the forms never show
it back (a password input hides its value; the private key textarea is emptied
before any render), and the pages only say whether one is set.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length

from app.extensions import db
from app.models import Credential, CredentialKind
from app.queue import settings
from app.services import credentials as credential_service
from app.web.forms import jobs_phrase, render_form, save_form

log = logging.getLogger(__name__)

bp = Blueprint("credentials", __name__, url_prefix="/credentials")


class CredentialForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(), Length(max=255)])
    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice(CredentialKind.SSH_KEY.value, "SSH private key"),
            SelectChoice(CredentialKind.PASSWORD.value, "Password"),
        ],
        default=CredentialKind.SSH_KEY.value,
    )
    username = StringField("User name", validators=[Length(max=255)])
    # Two inputs for the one secret, so that a password is typed into a masked
    # input; the kind says which one is read.
    private_key = TextAreaField("Private key")
    password = PasswordField("Password")
    become_password = PasswordField("Become password")


class EditCredentialForm(CredentialForm):
    remove_become_password = BooleanField("Remove the become password")


@bp.get("/")
def index():
    page = db.paginate(
        credential_service.credentials_query(),
        per_page=settings().page_size,
        error_out=False,
    )
    return render_template("credentials/index.html", page=page)


@bp.get("/<int:credential_id>")
def show(credential_id: int):
    credential = db.get_or_404(Credential, credential_id)
    return render_template(
        "credentials/show.html",
        credential=credential,
        jobs=credential_service.jobs_using(credential),
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = CredentialForm()
    credential = save_form(
        form,
        "credential",
        lambda: credential_service.create_credential(
            name=form.name.data,
            kind=form.kind.data,
            username=form.username.data,
            secret=_secret(form),
            become_password=form.become_password.data or None,
        ),
        _aliases(form),
    )
    if credential is None:
        return _render_form(form, None)
    flash(f"Credential {credential.name} added.", "info")
    return redirect(url_for("credentials.show", credential_id=credential.id))


@bp.route("/<int:credential_id>/edit", methods=["GET", "POST"])
def edit(credential_id: int):
    credential = db.get_or_404(Credential, credential_id)
    data = None
    if request.method == "GET":
        data = {
            "name": credential.name,
            "kind": credential.kind,
            "username": credential.username,
        }
    form = EditCredentialForm(data=data)

    saved = save_form(
        form,
        "credential",
        lambda: credential_service.update_credential(
            credential,
            name=form.name.data,
            kind=form.kind.data,
            username=form.username.data,
            secret=_secret(form) or None,
            become_password=form.become_password.data or None,
            remove_become_password=form.remove_become_password.data,
        ),
        _aliases(form),
    )
    if saved is None:
        return _render_form(form, credential)
    flash(f"Credential {credential.name} saved.", "info")
    return redirect(url_for("credentials.show", credential_id=credential.id))


@bp.post("/<int:credential_id>/delete")
def delete(credential_id: int):
    credential = db.get_or_404(Credential, credential_id)
    name = credential.name

    jobs = credential_service.delete_credential(credential)

    message = f"Credential {name} deleted."
    if jobs:
        message += (
            f" It was used by {jobs_phrase(jobs)}, which now have no credential:"
            " pick another one for them before they run."
        )
    flash(message, "info")
    return redirect(url_for("credentials.index"))


def _secret(form: CredentialForm) -> str:
    """The secret from the input that matches the chosen kind."""
    if form.kind.data == CredentialKind.SSH_KEY:
        return form.private_key.data or ""
    return form.password.data or ""


def _aliases(form: CredentialForm) -> dict[str, str]:
    """The service's "secret" is the private key or the password input."""
    is_key = form.kind.data == CredentialKind.SSH_KEY
    return {"secret": "private_key" if is_key else "password"}


def _render_form(form: CredentialForm, credential: Credential | None):
    # Never send a secret back, not even to the person who just typed it.
    form.private_key.data = ""
    form.password.data = ""
    form.become_password.data = ""
    return render_form("credentials/form.html", form, credential=credential)
