"""Credentials: secrets used to connect to hosts or to become another user.

The secret and the become password are stored encrypted (see `app.crypto`); the
model never holds them in clear.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.timeutil import utcnow


class CredentialKind(enum.StrEnum):
    SSH_KEY = "ssh_key"
    PASSWORD = "password"


class Credential(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(255), default="")
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    become_password_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def has_become_password(self) -> bool:
        return self.become_password_encrypted is not None

    def __repr__(self) -> str:
        return f"<Credential {self.name}>"
