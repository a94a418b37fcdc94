"""User pages, for admins: the list, a new user, role and access, password reset.

Users are never deleted, only deactivated: the audit trail and the runs keep
naming them. A new user's password and a reset one are generated and shown once,
for the admin to hand over; the user then changes it.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired

from app.extensions import db
from app.models import Role, User
from app.queue import settings
from app.services import users as user_service
from app.web.forms import render_form, save_form

log = logging.getLogger(__name__)

bp = Blueprint("users", __name__, url_prefix="/users")

ROLE_CHOICES = [
    SelectChoice(Role.VIEWER.value, "viewer: reads everything but secrets"),
    SelectChoice(Role.OPERATOR.value, "operator: also jobs, playbooks, runs"),
    SelectChoice(Role.ADMIN.value, "admin: also hosts, groups, credentials, users"),
]


class NewUserForm(FlaskForm):
    username = StringField(
        "User name",
        validators=[InputRequired()],
        render_kw={"autocomplete": "off", "maxlength": 64},
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.VIEWER.value)


class EditUserForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    active = BooleanField("May log in and use API tokens")


@bp.get("/")
def index():
    page = db.paginate(
        user_service.users_query(), per_page=settings().page_size, error_out=False
    )
    return render_template("users/index.html", page=page)


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = NewUserForm()
    password = user_service.generate_password()
    user = save_form(
        form,
        "user",
        lambda: user_service.create_user(
            username=form.username.data, password=password, role=form.role.data
        ),
    )
    if user is None:
        return render_form("users/new.html", form)
    flash(f"User {user.username} created.", "info")
    return render_template("users/password.html", user=user, password=password)


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
def edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = EditUserForm(data={"role": user.role, "active": user.active})
    saved = save_form(
        form,
        "user",
        lambda: user_service.update_user(
            user, role=form.role.data, active=form.active.data
        ),
    )
    if saved is None:
        return render_form("users/edit.html", form, user=user)
    flash(f"User {user.username} saved.", "info")
    return redirect(url_for("users.index"))


@bp.post("/<int:user_id>/password")
def reset_password(user_id: int) -> str:
    """A new random password, shown on this answer only."""
    user = db.get_or_404(User, user_id)
    password = user_service.reset_password(user)
    flash(f"The password of {user.username} is reset; their sessions ended.", "info")
    return render_template("users/password.html", user=user, password=password)
