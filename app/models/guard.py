"""The command guard: rules an admin keeps about what runs may execute, and the
switches of its built-in checks.

Rules are tried in `position` order (1 first) and the first whose pattern
matches a command decides for it: `deny` refuses the launch, `warn` lets the
run go and marks it, `allow` lets the command pass unmarked. A rule applies to
the users of one role, or to everyone when `role` is None.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.timeutil import utcnow


class GuardAction(enum.StrEnum):
    DENY = "deny"
    WARN = "warn"
    ALLOW = "allow"


class BuiltinCheck(enum.StrEnum):
    """The guard's checks that need no rule; each is on until an admin turns it off."""

    # A playbook or extra variables that reach the machine Playdeck runs on
    # (hosts: localhost, delegate_to: localhost, local_action, connection: local)
    # while the job's hosts are not all local-connection hosts.
    LOCAL_TARGET = "local_target"

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES = {BuiltinCheck.LOCAL_TARGET: "Playdeck's own machine"}


class GuardRule(db.Model):
    __tablename__ = "guard_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 1, 2, 3 ...: the order rules are tried in, kept without gaps.
    position: Mapped[int] = mapped_column(index=True)
    # Plain words, or a regular expression when `regex`; matched against commands
    # once normalised (see app.command_guard).
    pattern: Mapped[str] = mapped_column(Text)
    regex: Mapped[bool] = mapped_column(default=False)
    action: Mapped[str] = mapped_column(String(8))
    # A `Role` the rule applies to; None for everyone.
    role: Mapped[str | None] = mapped_column(String(16))
    # Why the rule is there, for the person it stops: "ask ops before deleting".
    reason: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def name(self) -> str:
        """How messages and the audit trail name the rule."""
        return f"rule {self.position} ({self.action} “{self.pattern}”)"

    def __repr__(self) -> str:
        return f"<GuardRule {self.position} {self.action} {self.pattern!r}>"


class GuardCheck(db.Model):
    """A built-in check switched on or off; a check with no row is on."""

    __tablename__ = "guard_check"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
