"""The audit trail: who did what, when, from where, to which object.

Rows are only ever added. They keep the user's name and the object's name as they
were, so that renaming or deleting either leaves the history true. No secret ever
reaches a row: `app.audit.record` is the one writer and is given no secret.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.timeutil import utcnow


class AuditAction(enum.StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    LAUNCH = "launch"
    CANCEL = "cancel"
    TOKEN_CREATE = "token_create"
    TOKEN_REVOKE = "token_revoke"
    PASSWORD_CHANGE = "password_change"
    # The command guard refused a launch, or let a run go and marked it.
    GUARD_DENY = "guard_deny"
    GUARD_WARN = "guard_warn"


class AuditVia(enum.StrEnum):
    """Through what the action came."""

    WEB = "web"
    API = "api"
    CLI = "cli"
    # Done by Playdeck itself, outside any request (a worker, a scheduler).
    SYSTEM = "system"


class AuditEntry(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    # The acting user's name then; for a failed login, the name that was tried.
    username: Mapped[str] = mapped_column(String(64), default="", index=True)
    # The client's IP address, when the action came through a request.
    address: Mapped[str] = mapped_column(String(64), default="")
    via: Mapped[str] = mapped_column(String(8), default=AuditVia.SYSTEM)
    action: Mapped[str] = mapped_column(String(32), index=True)
    # host, group, credential, playbook, job, run, user, token; "" for a login.
    object_type: Mapped[str] = mapped_column(String(32), default="", index=True)
    object_id: Mapped[int | None]
    object_name: Mapped[str] = mapped_column(String(255), default="")
    # One line a person reads: "host web1 created".
    summary: Mapped[str] = mapped_column(Text, default="")
    # Field name -> [before, after] for an update, -> value for a create.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} {self.object_type}>"
