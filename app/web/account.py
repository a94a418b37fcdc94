"""One's own account: changing one's password."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import EqualTo, InputRequired

from app.services import users as user_service
from app.web.forms import render_form, save_form

log = logging.getLogger(__name__)

bp = Blueprint("account", __name__, url_prefix="/account")


class PasswordForm(FlaskForm):
    current = PasswordField(
        "Current password",
        validators=[InputRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        "New password",
        validators=[InputRequired()],
        render_kw={
            "autocomplete": "new-password",
            "minlength": user_service.MIN_PASSWORD,
        },
    )
    confirm = PasswordField(
        "New password again",
        validators=[InputRequired(), EqualTo("new", "The two entries differ.")],
        render_kw={"autocomplete": "new-password"},
    )


@bp.route("/password", methods=["GET", "POST"])
def password():
    form = PasswordForm()
    user = current_user._get_current_object()

    def change() -> bool:
        user_service.change_password(user, current=form.current.data, new=form.new.data)
        return True

    if save_form(form, "password", change) is None:
        return render_form("account/password.html", form)
    # The change ended every session of this user, this one included: log in
    # again under the new session token.
    login_user(user)
    flash("Your password is changed. Your other sessions are logged out.", "info")
    return redirect(url_for("index"))
