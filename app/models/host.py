"""Hosts, the machines Ansible connects to, and groups of them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.timeutil import utcnow


class Connection(enum.StrEnum):
    SSH = "ssh"
    LOCAL = "local"


host_group = Table(
    "host_group",
    db.metadata,
    Column("host_id", ForeignKey("host.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("group.id", ondelete="CASCADE"), primary_key=True),
)


class Host(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    address: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(default=22)
    connection: Mapped[str] = mapped_column(String(16), default=Connection.SSH)
    vars: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    groups: Mapped[list[Group]] = relationship(
        secondary=host_group, back_populates="hosts", order_by="Group.name"
    )

    def __repr__(self) -> str:
        return f"<Host {self.name}>"


class Group(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vars: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    hosts: Mapped[list[Host]] = relationship(
        secondary=host_group, back_populates="groups", order_by="Host.name"
    )

    def __repr__(self) -> str:
        return f"<Group {self.name}>"
