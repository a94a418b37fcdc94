"""Users: the people who log in, and the role that says what each may do."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.timeutil import utcnow


class Role(enum.StrEnum):
    """What a user may do; each role may do everything the roles before it may."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what needs `needed`."""
        return self.rank >= needed.rank


def new_session_token() -> str:
    return secrets.token_hex(16)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # werkzeug.security's "scrypt:..." string: method, parameters, salt and hash.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.VIEWER)
    # An inactive user can neither log in nor use a token; rows are never deleted
    # so that the audit trail and the runs keep naming who did what.
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the id kept in the session cookie: a new token (on a password change
    # or a deactivation) ends every session opened before.
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # IANA time zone the pages show times in; "" for Playdeck's own
    # (PLAYDECK_TIMEZONE).
    timezone: Mapped[str] = mapped_column(String(64), default="", server_default="")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def access(self) -> Role:
        return Role(self.role)

    def can(self, needed: Role) -> bool:
        return self.active and self.access.allows(needed)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"
