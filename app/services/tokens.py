"""API tokens: made by their owner (or an admin at the command line), shown once,
stored as a SHA-256, revoked by deleting them.

A token acts with its owner's role, as it is when the token is used: demoting
or deactivating a user changes or stops their tokens at once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from sqlalchemy import select

from app import audit
from app.extensions import db
from app.models import ApiToken, AuditAction, User
from app.models.timeutil import utcnow
from app.services import ServiceError

log = logging.getLogger(__name__)

# Every token starts with this, so a leaked one is easy to spot (secret scanners,
# logs) and to tell from a password.
PREFIX = "pdt_"
MAX_NAME = 100
MAX_DAYS = 3650
# Seconds between two writes of a token's last use: a script polling a run's
# events should not write a row per request.
LAST_USED_EVERY = 60


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.id.desc())
        )
    )


def create_token(
    user: User, *, name: str, expires_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token of `user`; returns the row and the token, to show once."""
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Name the token after what uses it, say deploy-script."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Use at most {MAX_NAME} characters."
    if expires_days is not None and (
        type(expires_days) is not int or not 1 <= expires_days <= MAX_DAYS
    ):
        errors["expires_days"] = (
            f"A token lasts from 1 to {MAX_DAYS} days; leave it empty for no end."
        )
    if errors:
        raise ServiceError("The token was not made.", errors)

    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=digest(token),
        prefix=token[: len(PREFIX) + 6],
        expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
    )
    db.session.add(row)
    db.session.commit()

    log.info("token %s made for user %s id=%s", name, user.username, row.id)
    audit.record(
        AuditAction.TOKEN_CREATE,
        row,
        f"API token {name} made for {user.username}"
        + (f", valid {expires_days} days" if expires_days else ", no end"),
        changes={"owner": user.username, "expires_at": _when(row)},
    )
    return row, token


def revoke_token(row: ApiToken) -> None:
    """Delete a token: the next request with it is refused."""
    gone, owner = audit.ref(row), row.user.username
    db.session.delete(row)
    db.session.commit()
    log.info("token %s of user %s revoked id=%s", gone.name, owner, gone.id)
    audit.record(
        AuditAction.TOKEN_REVOKE,
        gone,
        f"API token {gone.name} of {owner} revoked",
        changes={"owner": owner},
    )


def user_for_token(token: str) -> User | None:
    """The active owner of this token, unless it is unknown or expired."""
    if not token.startswith(PREFIX):
        return None
    row = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == digest(token))
    )
    if row is None or row.expired() or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > (
        LAST_USED_EVERY
    ):
        row.last_used_at = now
        db.session.commit()
    return row.user


def _when(row: ApiToken) -> str | None:
    return row.expires_at.isoformat(timespec="seconds") if row.expires_at else None
