"""Logging in and out.

Failed logins are slowed down by `app.auth.throttle`, and every attempt, good or
bad, goes to the audit trail.
"""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from app import audit
from app.auth import throttle
from app.auth.guard import safe_next
from app.models import AuditAction
from app.services import users as user_service
from app.web.forms import INVALID

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

TOO_MANY = 429


class LoginForm(FlaskForm):
    # Bounded: anyone may post this form, and a failed login goes to the audit
    # trail with the name that was typed.
    username = StringField(
        "User name",
        validators=[
            InputRequired(),
            Length(
                max=user_service.MAX_USERNAME,
                message=f"A user name has at most {user_service.MAX_USERNAME} "
                "characters.",
            ),
        ],
        render_kw={
            "autocomplete": "username",
            "autofocus": True,
            "maxlength": user_service.MAX_USERNAME,
        },
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired()],
        render_kw={"autocomplete": "current-password"},
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_page = safe_next(request.args.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_page or url_for("index"))

    form = LoginForm()
    if not form.validate_on_submit():
        status = INVALID if form.is_submitted() else 200
        return render_template("auth/login.html", form=form), status

    name = user_service.normalize(form.username.data or "")
    address = request.remote_addr or ""
    lock = throttle.locked(name, address)
    if lock is not None:
        audit.record(
            AuditAction.LOGIN_FAILED,
            summary=f"login as {name} refused: locked for {lock.seconds} s",
            object_type="user",
            username=name,
        )
        flash(_lock_message(lock), "error")
        return render_template("auth/login.html", form=form), TOO_MANY

    user = user_service.authenticate(name, form.password.data or "")
    if user is None:
        throttle.failed(name, address)
        audit.record(
            AuditAction.LOGIN_FAILED,
            summary=f"failed login as {name}",
            object_type="user",
            username=name,
        )
        flash("Wrong user name or password.", "error")
        return render_template("auth/login.html", form=form), INVALID

    # A fresh session: nothing a visitor put in it before logging in survives.
    _clear_session()
    login_user(user)
    throttle.succeeded(name)
    audit.record(AuditAction.LOGIN, user, f"user {user.username} logged in")
    flash(f"Logged in as {user.username}.", "info")
    return redirect(next_page or url_for("index"))


@bp.post("/logout")
def logout() -> Response:
    audit.record(
        AuditAction.LOGOUT, current_user, f"user {current_user.username} logged out"
    )
    user_service.end_sessions(current_user._get_current_object())
    logout_user()
    _clear_session()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


def _clear_session() -> None:
    session.clear()
    # Flask-WTF caches the CSRF token of the old session in `g`; a page rendered
    # later in the same app context would hand out a token the session lacks.
    g.pop("csrf_token", None)


def _lock_message(lock: throttle.Lock) -> str:
    who = "for this user name" if lock.scope == "user" else "from your address"
    minutes, seconds = divmod(lock.seconds, 60)
    wait = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    return (
        f"Too many failed logins {who}: logging in is locked for {wait}. "
        "Each further failure makes the wait longer."
    )
