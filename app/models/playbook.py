"""Playbooks: stored Ansible projects of one or more files and an entry file."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.timeutil import utcnow


class Playbook(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    # Name of the file ansible-playbook is given; one of `files`.
    entry: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    files: Mapped[list[PlaybookFile]] = relationship(
        back_populates="playbook",
        cascade="all, delete-orphan",
        order_by="PlaybookFile.name",
    )

    def __repr__(self) -> str:
        return f"<Playbook {self.name}>"


class PlaybookFile(db.Model):
    __table_args__ = (UniqueConstraint("playbook_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook_id: Mapped[int] = mapped_column(
        ForeignKey("playbook.id", ondelete="CASCADE")
    )
    # A relative path inside the project: `site.yml`, `roles/web/tasks/main.yml`.
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text, default="")

    playbook: Mapped[Playbook] = relationship(back_populates="files")
