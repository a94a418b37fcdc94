"""Jobs: saved definitions of what to run, where and how."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, String, Table, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.credential import Credential
from app.models.host import Group, Host
from app.models.playbook import Playbook
from app.models.timeutil import utcnow


class JobKind(enum.StrEnum):
    ADHOC = "adhoc"
    PLAYBOOK = "playbook"
    # Copies files stored with the job to its hosts (app.models.upload).
    UPLOAD = "upload"


class ParameterType(enum.StrEnum):
    """What a job's parameter asks for at launch, and how its value is checked."""

    TEXT = "text"
    NUMBER = "number"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"
    BOOLEAN = "boolean"
    # Never stored in clear, never shown, masked in the log (app.services.parameters).
    SECRET = "secret"

    @property
    def has_choices(self) -> bool:
        return self in (ParameterType.CHOICE, ParameterType.MULTICHOICE)


job_host = Table(
    "job_host",
    db.metadata,
    Column("job_id", ForeignKey("job.id", ondelete="CASCADE"), primary_key=True),
    Column("host_id", ForeignKey("host.id", ondelete="CASCADE"), primary_key=True),
)

job_group = Table(
    "job_group",
    db.metadata,
    Column("job_id", ForeignKey("job.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("group.id", ondelete="CASCADE"), primary_key=True),
)


class Job(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Ad-hoc jobs: a module of `Settings.adhoc_modules` and its arguments.
    module: Mapped[str] = mapped_column(String(64), default="")
    args: Mapped[str] = mapped_column(Text, default="")
    # Playbook jobs.
    playbook_id: Mapped[int | None] = mapped_column(
        ForeignKey("playbook.id", ondelete="RESTRICT")
    )
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("credential.id", ondelete="SET NULL")
    )
    forks: Mapped[int] = mapped_column(default=5)
    # Seconds; None means `Settings.default_timeout`.
    timeout: Mapped[int | None]
    extra_vars: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Asked for at launch, in order: {"name", "label", "type" (a `ParameterType`),
    # "required", "default", "help", "choices"}; see app.services.parameters.
    parameters: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    # Run options, passed to ansible on its command line (app.services.options).
    # `forks` above is one of them, older than the rest.
    limit: Mapped[str] = mapped_column(Text, default="", server_default="")
    tags: Mapped[str] = mapped_column(Text, default="", server_default="")
    skip_tags: Mapped[str] = mapped_column(Text, default="", server_default="")
    check_mode: Mapped[bool] = mapped_column(default=False, server_default=false())
    diff_mode: Mapped[bool] = mapped_column(default=False, server_default=false())
    verbosity: Mapped[int] = mapped_column(default=0, server_default="0")
    become: Mapped[bool] = mapped_column(default=False, server_default=false())
    become_user: Mapped[str] = mapped_column(String(64), default="", server_default="")
    become_method: Mapped[str] = mapped_column(
        String(16), default="", server_default=""
    )
    remote_user: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # The names of the options above that the launch form asks for, the job's
    # value being the default answer.
    ask_at_launch: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    # Hidden jobs stand behind quick commands: kept for history, not listed.
    hidden: Mapped[bool] = mapped_column(default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    playbook: Mapped[Playbook | None] = relationship()
    credential: Mapped[Credential | None] = relationship()
    hosts: Mapped[list[Host]] = relationship(secondary=job_host, order_by="Host.name")
    groups: Mapped[list[Group]] = relationship(
        secondary=job_group, order_by="Group.name"
    )

    @property
    def description(self) -> str:
        """What the job runs, in one line."""
        if self.kind == JobKind.ADHOC:
            return f"{self.module} {self.args}".strip()
        if self.kind == JobKind.UPLOAD:
            upload = getattr(self, "upload", None)  # a backref of app.models.upload
            if upload is None:
                return "copy (no file)"
            count = len(upload.files)
            return f"copy {count} file{'s' if count != 1 else ''} to {upload.dest}"
        return self.playbook.name if self.playbook else "(no playbook)"

    def __repr__(self) -> str:
        return f"<Job {self.name}>"
