"""The audit trail: `record(action, target, summary)`, its one writer, and queries.

The services call it after each change they commit, so that a page and the API
doing the same thing leave the same entry. It finds out by itself who acts and
from where: the logged-in user (or the API token's owner) and the client's
address inside a request, the user set by `acting_as` in a command, and Playdeck
itself otherwise.

No secret may reach a row. Callers pass none; as a second fence, any value of
`changes` (or of a mapping inside, like a job's extra variables) under a name
that says secret, pass, token or key is replaced, unless it is a mere yes/no
such as `secret_replaced`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import Select, select

from app.extensions import db
from app.models import ApiToken, AuditAction, AuditEntry, AuditVia, User

log = logging.getLogger(__name__)

HIDDEN = "[hidden]"
# Broad on purpose: `ansible_become_pass`, `api_key`, `vault_password_file`.
_SECRET_NAME = re.compile(r"secret|pass|token|key", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """What an entry is about, taken before the row goes (say, on a delete)."""

    type: str
    id: int | None
    name: str


def ref(row: Any) -> Target:
    """The `Target` of a row, to record after the row is deleted."""
    if row is None or isinstance(row, Target):
        return row or Target("", None, "")
    if hasattr(row, "_get_current_object"):  # current_user is a proxy
        row = row._get_current_object()
    return Target(_type_of(row), getattr(row, "id", None), _name_of(row))


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

    `target` is the row acted on, or its `ref` taken before a delete: its type,
    id and name are kept. `user` and `username` override who acts, for a login
    where nobody is logged in yet.
    """
    actor, via, address = _who()
    if user is not None:
        actor = user
    about = ref(target)
    entry = AuditEntry(
        user_id=actor.id if actor is not None else None,
        username=(username or (actor.username if actor is not None else ""))[:64],
        address=address[:64],
        via=via,
        action=action,
        object_type=object_type or about.type,
        object_id=about.id,
        object_name=about.name[:255],
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


def acting_user() -> User | None:
    """Who acts now: the logged-in user or token owner, a command's user, or None."""
    return _who()[0]


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The fields whose value differs, each as [before, after]."""
    return {
        key: [before.get(key), value]
        for key, value in after.items()
        if before.get(key) != value
    }


def scrub(changes: Mapping[str, Any]) -> dict[str, Any]:
    """`changes` with the value of every secret-sounding name hidden, however deep."""
    return {
        key: HIDDEN
        if _SECRET_NAME.search(str(key)) and not _yes_no(value)
        else _scrub_value(value)
        for key, value in changes.items()
    }


def _scrub_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return scrub(value)
    if isinstance(value, list | tuple):
        return [_scrub_value(item) for item in value]
    return value


def _yes_no(value: Any) -> bool:
    """A bool, or a [before, after] pair of them: says nothing of a secret."""
    if isinstance(value, list | tuple):
        return all(isinstance(item, bool | None) for item in value)
    return isinstance(value, bool)


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


def entries_query(
    *,
    username: str = "",
    action: str = "",
    object_type: str = "",
    object_id: int | None = None,
) -> Select[tuple[AuditEntry]]:
    """Entries newest first, narrowed by whichever filter is given."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if username:
        query = query.where(AuditEntry.username == username)
    if action:
        query = query.where(AuditEntry.action == action)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == object_id)
    return query


def usernames() -> list[str]:
    """Every name the trail holds, for the filter's choices."""
    return list(
        db.session.scalars(
            select(AuditEntry.username)
            .where(AuditEntry.username != "")
            .distinct()
            .order_by(AuditEntry.username)
        )
    )
