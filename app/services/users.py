"""Users: creating them, checking their passwords, changing roles and passwords.

Passwords are hashed with scrypt through werkzeug.security, which Flask already
brings: a salted, memory-hard hash, so no other library is needed. A password is
never logged, stored in clear or written to the audit trail.
"""

from __future__ import annotations

import logging
import re
import secrets

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app import audit
from app.extensions import db
from app.models import AuditAction, Role, User
from app.models.timeutil import utcnow
from app.models.user import new_session_token
from app.recurrence import zone
from app.services import ServiceError
from app.validation import Invalid

log = logging.getLogger(__name__)

MAX_USERNAME = 64
USERNAME = re.compile(rf"^[a-z0-9][a-z0-9._-]{{0,{MAX_USERNAME - 1}}}$")
MIN_PASSWORD = 10
# scrypt hashes any length, but nobody types more; this bounds the work per login.
MAX_PASSWORD = 1024
DUPLICATE_NAME = "A user with this name already exists."
# Compared against when the user does not exist, so that a login for an unknown
# name takes as long as one for a known name with a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16), method="scrypt")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def generate_password() -> str:
    """A random password of 20 characters, for a first admin or a reset."""
    return secrets.token_urlsafe(15)


def users_query() -> Select[tuple[User]]:
    return select(User).order_by(User.username)


def find(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == normalize(username)))


def normalize(username: str) -> str:
    """User names are compared in lower case: "Ann" and "ann" are one user."""
    return (username or "").strip().lower()


def authenticate(username: str, password: str) -> User | None:
    """The active user with this name and password, or None."""
    user = find(username) if len(password or "") <= MAX_PASSWORD else None
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    if not user.active:
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def create_user(*, username: str, password: str, role: str = Role.VIEWER) -> User:
    """A new user; `ServiceError` names every refused field."""
    name = normalize(username)
    errors: dict[str, str] = {}
    name_error = username_error(name)
    if name_error:
        errors["username"] = name_error
    elif find(name) is not None:
        errors["username"] = DUPLICATE_NAME
    _check_role(role, errors)
    password_error = _password_error(password)
    if password_error:
        errors["password"] = password_error
    if errors:
        raise ServiceError("The user was not saved.", errors)

    user = User(username=name, password_hash=hash_password(password), role=role)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ServiceError(
            "The user was not saved.", {"username": DUPLICATE_NAME}
        ) from exc

    log.info("user %s created id=%s role=%s", user.username, user.id, user.role)
    audit.record(
        AuditAction.CREATE,
        user,
        f"user {user.username} created as {user.role}",
        changes={"username": user.username, "role": user.role},
    )
    return user


def update_user(user: User, *, role: str, active: bool) -> User:
    """Change a user's role or whether they may log in.

    The last active admin can be neither demoted nor deactivated: nobody could
    manage users any more.
    """
    errors: dict[str, str] = {}
    _check_role(role, errors)
    if errors:
        raise ServiceError("The user was not saved.", errors)
    losing_admin = user.role == Role.ADMIN and user.active
    if losing_admin and (role != Role.ADMIN or not active) and _admins() <= 1:
        raise ServiceError(
            f"{user.username} is the last active admin: make another user admin first."
        )

    before = {"role": user.role, "active": user.active}
    user.role = role
    if user.active and not active:
        # Ends the sessions this user has open; their tokens stop with `active`.
        user.session_token = new_session_token()
    user.active = active
    db.session.commit()

    changes = audit.changed(before, {"role": user.role, "active": user.active})
    if changes:
        log.info("user %s updated id=%s %s", user.username, user.id, changes)
        audit.record(
            AuditAction.UPDATE,
            user,
            f"user {user.username}: "
            + ", ".join(f"{key} {old} → {new}" for key, (old, new) in changes.items()),
            changes=changes,
        )
    return user


def change_password(user: User, *, current: str, new: str) -> None:
    """A user changes their own password; other sessions of theirs end."""
    errors: dict[str, str] = {}
    if not check_password_hash(user.password_hash, current or ""):
        errors["current"] = "This is not your current password."
    password_error = _password_error(new)
    if password_error:
        errors["new"] = password_error
    if errors:
        raise ServiceError("Your password was not changed.", errors)
    _set_password(user, new, f"user {user.username} changed their password")


def set_timezone(user: User, name: str) -> None:
    """The zone a user's pages show times in; "" for Playdeck's own."""
    name = (name or "").strip()
    if name:
        try:
            zone(name)
        except Invalid as exc:
            raise ServiceError(
                "Your time zone was not changed.", {"timezone": str(exc)}
            ) from exc
    old = user.timezone
    user.timezone = name
    db.session.commit()
    if old != name:
        audit.record(
            AuditAction.UPDATE,
            user,
            f"user {user.username} shows times in {name or 'the default zone'}",
            changes={"timezone": [old, name]},
        )


def end_sessions(user: User) -> None:
    """End every session of `user`, on every browser (logging out does this).

    The session cookie is signed, not stored on the server: a copy of it (a
    proxy's log, a shared computer) stays good until the session token it
    carries changes.
    """
    user.session_token = new_session_token()
    db.session.commit()
    log.info("sessions of user %s ended id=%s", user.username, user.id)


def reset_password(user: User) -> str:
    """An admin gives a user a new random password; returns it, to show once."""
    password = generate_password()
    _set_password(user, password, f"password of user {user.username} reset")
    return password


def ensure_admin(username: str = "admin") -> tuple[User, str] | None:
    """Create a first admin when there is no active admin; None when there is one.

    Returns the user and the generated password, which is shown once.
    """
    if _admins() > 0:
        return None
    password = generate_password()
    existing = find(username)
    if existing is not None:
        # A user of that name exists but is not an active admin: a name of our
        # own choosing avoids taking their account over.
        username = f"{username}-{secrets.token_hex(2)}"
    return create_user(username=username, password=password, role=Role.ADMIN), password


def username_error(name: str) -> str | None:
    if not name:
        return "Give a user name."
    if not USERNAME.match(name):
        return (
            "Use at most 64 letters, digits and . _ -, starting with a letter or "
            "a digit."
        )
    return None


def _password_error(password: str) -> str | None:
    if len(password or "") < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"Use at most {MAX_PASSWORD} characters."
    return None


def _check_role(role: str, errors: dict[str, str]) -> None:
    if role not in {choice.value for choice in Role}:
        errors["role"] = "Choose one of: " + ", ".join(r.value for r in Role) + "."


def _set_password(user: User, password: str, summary: str) -> None:
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()
    db.session.commit()
    log.info("password of user %s changed id=%s", user.username, user.id)
    audit.record(AuditAction.PASSWORD_CHANGE, user, summary)


def _admins() -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(User.role == Role.ADMIN, User.active)
    )
