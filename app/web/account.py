"""One's own account: the time zone one reads times in, one's password, one's
API tokens.

A new token is shown on the answer to the form that made it, and never again:
only its hash is kept.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import IntegerField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Optional

from app.extensions import db
from app.models import ApiToken
from app.queue import settings
from app.recurrence import zone_names
from app.services import tokens as token_service
from app.services import users as user_service
from app.web.forms import INVALID, render_form, save_form

log = logging.getLogger(__name__)

bp = Blueprint("account", __name__, url_prefix="/account")


class PreferencesForm(FlaskForm):
    timezone = StringField(
        "Time zone",
        render_kw={"list": "timezones", "autocomplete": "off", "spellcheck": "false"},
    )


@bp.route("/", methods=["GET", "POST"])
def preferences():
    """Your account: the zone your pages show times in."""
    user = current_user._get_current_object()
    form = PreferencesForm(data={"timezone": user.timezone})

    def save() -> bool:
        user_service.set_timezone(user, form.timezone.data or "")
        return True

    if save_form(form, "time zone", save) is None:
        return render_form(
            "account/preferences.html",
            form,
            timezones=zone_names(),
            default_zone=settings().timezone,
        )
    shown = user.timezone or f"{settings().timezone}, Playdeck's default"
    flash(f"Times are now shown in {shown}.", "info")
    return redirect(url_for("account.preferences"))


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


class TokenForm(FlaskForm):
    name = StringField(
        "Name",
        render_kw={"maxlength": token_service.MAX_NAME, "autocomplete": "off"},
    )
    expires_days = IntegerField(
        "Days it lasts",
        validators=[Optional()],
        render_kw={"min": 1, "max": token_service.MAX_DAYS, "placeholder": "no end"},
    )


@bp.route("/tokens", methods=["GET", "POST"])
def tokens():
    """Your tokens; a post makes one and shows it, this once."""
    user = current_user._get_current_object()
    form = TokenForm()
    made = save_form(
        form,
        "token",
        lambda: token_service.create_token(
            user, name=form.name.data, expires_days=form.expires_days.data
        ),
    )
    status = INVALID if form.is_submitted() and made is None else 200
    if made is not None:
        flash(
            f"Token {made[0].name} made: copy it below, it is shown only once.", "info"
        )
        form = TokenForm(formdata=None)
    return render_template(
        "account/tokens.html",
        form=form,
        tokens=token_service.tokens_of(user),
        new=made,
    ), status


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Response:
    token = db.get_or_404(ApiToken, token_id)
    if token.user_id != current_user.id:
        abort(404)  # someone else's token: as good as unknown
    name = token.name
    token_service.revoke_token(token)
    flash(f"Token {name} is revoked: requests with it are refused.", "info")
    return redirect(url_for("account.tokens"))
