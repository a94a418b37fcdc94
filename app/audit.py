"""Writing the audit trail: `record(action, target, summary)`, the one writer.

The services call it after each change they commit, so that a page and the API
doing the same thing leave the same entry. It finds out by itself who acts and
from where: the logged-in user (or the API token's owner) and the client's
address inside a request, the user set by `acting_as` in a command, and Playdeck
itself otherwise.

No secret may reach a row. Callers pass none; as a second fence, any value of
`changes` under a name that says secret, password or token is replaced, unless
it is a mere yes/no such as `secret_replaced`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from app.extensions import db
from app.models import ApiToken, AuditAction, AuditEntry, AuditVia, User

log = logging.getLogger(__name__)

HIDDEN = "[hidden]"
_SECRET_NAME = re.compile(r"secret|password|token", re.IGNORECASE)

# The user and channel of a command-line action (`flask users ...`).
_actor: ContextVar[tuple[User | None, AuditVia] | None] = ContextVar(
    "audit_actor", default=None
)


@contextmanager
def acting_as(user: User | None, via: AuditVia = AuditVia.CLI) -> Iterator[None]:
    """Attribute what happens inside to `user`, through `via` (outside requests)."""
    reset = _actor.set((user, via))
    try:
        yield
    finally:
        _actor.reset(reset)


def record(
    action: AuditAction,
    target: Any = None,
    summary: str = "",
    *,
    changes: Mapping[str, Any] | None = None,
    object_type: str | None = None,
    user: User | None = None,
    username: str | None = None,
) -> AuditEntry:
    """Add one entry and commit it.

    `target` is the row acted on (its type, id and name are kept); `user` and
    `username` override who acts, for a login where nobody is logged in yet.
    """
    actor, via, address = _who()
    if user is not None:
        actor = user
    entry = AuditEntry(
        user_id=actor.id if actor is not None else None,
        username=(username or (actor.username if actor is not None else ""))[:64],
        address=address[:64],
        via=via,
        action=action,
        object_type=object_type or _type_of(target),
        object_id=getattr(target, "id", None),
        object_name=_name_of(target)[:255],
        summary=summary,
        changes=scrub(changes or {}),
    )
    db.session.add(entry)
    db.session.commit()
    log.info(
        "audit action=%s object=%s:%s user=%s via=%s",
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.username,
        entry.via,
    )
    return entry


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The fields whose value differs, each as [before, after]."""
    return {
        key: [before.get(key), value]
        for key, value in after.items()
        if before.get(key) != value
    }


def scrub(changes: Mapping[str, Any]) -> dict[str, Any]:
    """`changes` with the value of every secret-sounding name hidden."""
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if _SECRET_NAME.search(str(key)) and not isinstance(value, bool):
            clean[key] = HIDDEN
        elif isinstance(value, Mapping):
            clean[key] = scrub(value)
        else:
            clean[key] = value
    return clean


def _who() -> tuple[User | None, AuditVia, str]:
    if has_request_context():
        via = AuditVia.API if request.blueprint == "api" else AuditVia.WEB
        user = current_user if current_user.is_authenticated else None
        return (
            user._get_current_object() if user is not None else None,
            via,
            request.remote_addr or "",
        )
    actor = _actor.get()
    if actor is not None:
        return actor[0], actor[1], ""
    return None, AuditVia.SYSTEM, ""


def _type_of(target: Any) -> str:
    if target is None:
        return ""
    if isinstance(target, ApiToken):
        return "token"
    return type(target).__name__.lower()


def _name_of(target: Any) -> str:
    if target is None:
        return ""
    for attribute in ("name", "username"):
        value = getattr(target, attribute, None)
        if isinstance(value, str):
            return value
    return str(getattr(target, "id", ""))
