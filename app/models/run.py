"""Runs: one execution of a job, with its status, timings and per-host stats."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.event import commit_retrying, note_insert
from app.models.job import Job
from app.models.run_host import STAT_KEYS, record_host_results
from app.models.timeutil import utcnow
from app.models.user import User


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMEOUT = "timeout"
    ERROR = "error"

    @property
    def terminal(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


TERMINAL_STATUSES = tuple(status for status in RunStatus if status.terminal)


class RunTrigger(enum.StrEnum):
    """What started a run: someone (the Run button, the API) or a schedule."""

    MANUAL = "manual"
    SCHEDULED = "scheduled"


# How a secret shows wherever it would have been: a secret parameter's value
# among a run's inputs (its page, the API, the audit trail), and any secret of a
# run in its log (`app.runner.sink`).
MASKED = "[hidden]"


class Run(db.Model):
    __table_args__ = (Index("ix_run_job_id_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(
        String(16), default=RunStatus.QUEUED, index=True
    )
    # When the run was queued, or queued again after Redis lost its RQ job.
    # Indexed: the retention purge looks for old runs by it.
    queued_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    rc: Mapped[int | None]
    # Per host: {"ok": n, "changed": n, "failed": n, "unreachable": n, "skipped": n}.
    stats: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON, default=dict)
    # Why the run ended `error`, `canceled` or `timeout`, for a person to read.
    error: Mapped[str] = mapped_column(Text, default="")
    rq_job_id: Mapped[str | None] = mapped_column(String(64))
    # Set when someone asks a running run to stop.
    cancel_requested_at: Mapped[datetime | None]
    # Who canceled the run: a user name, an address, or "worker shutdown".
    canceled_by: Mapped[str | None] = mapped_column(String(255))
    # How often the run was queued again because Redis lost its RQ job: never
    # more than once, so a run is not tried over and over.
    requeued: Mapped[int] = mapped_column(default=0, server_default="0")
    # What ran, frozen at launch, so history stays true when the job changes.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Who pressed Run (or called the API); None for runs from before accounts.
    launched_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    # Given at launch: variables that win over the job's, and an Ansible limit
    # pattern narrowing its hosts ("" for all of them).
    extra_vars: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    limit: Mapped[str] = mapped_column(Text, default="")
    # A `RunTrigger`: pressed by someone, or fired by the job's schedule.
    trigger: Mapped[str] = mapped_column(
        String(16), default=RunTrigger.MANUAL, server_default=RunTrigger.MANUAL
    )
    # Tasks started so far (a playbook's task and handler starts), kept by the
    # event sink: the progress of a playbook run, and once the run succeeded,
    # the estimate of how many tasks the job's next runs will have.
    task_count: Mapped[int] = mapped_column(default=0, server_default="0")

    # What the command guard's `warn` rules found, one entry per command:
    # {"rule", "pattern", "where", "command"}; [] for a run nothing warned about.
    guard_warnings: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    # The values of the job's parameters this run was launched with, by name,
    # secret ones replaced by `MASKED`: what the run page, the API and a relaunch
    # read. The secret values themselves are in `secrets` while the run lasts.
    parameters: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    # The secret parameters' values, encrypted (app.crypto), from launch until
    # the run ends: the terminal write erases them (`mark_finished`).
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The run options ansible was given (tags, check_mode, verbosity, ...; the
    # limit is `limit`), the job's merged with the answers given at launch.
    options: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    # The run this one repeats, when it was relaunched from it.
    relaunch_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("run.id", ondelete="SET NULL"), index=True
    )

    job: Mapped[Job] = relationship()
    launched_by: Mapped[User | None] = relationship()
    relaunch_of: Mapped[Run | None] = relationship(
        remote_side=[id], back_populates="relaunches"
    )
    # The database sets their `relaunch_of_id` to NULL when this run is deleted.
    relaunches: Mapped[list[Run]] = relationship(
        back_populates="relaunch_of", order_by="Run.id", passive_deletes=True
    )

    @property
    def state(self) -> RunStatus:
        return RunStatus(self.status)

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, or to now while running."""
        if self.started_at is None:
            return None
        end = self.finished_at or utcnow()
        return (end - self.started_at).total_seconds()

    def totals(self) -> dict[str, int]:
        """The per-host counters summed over all hosts."""
        return {
            key: sum(host.get(key, 0) for host in self.stats.values())
            for key in STAT_KEYS
        }

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.status}>"


def mark_running(run_id: int) -> bool:
    """queued -> running; False when the run had left `queued` (say, canceled)."""
    result = db.session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == RunStatus.QUEUED)
        .values(status=RunStatus.RUNNING, started_at=utcnow())
    )
    db.session.commit()
    return result.rowcount == 1


def mark_finished(
    run_id: int,
    status: RunStatus,
    only_from: tuple[RunStatus, ...] = (RunStatus.QUEUED, RunStatus.RUNNING),
    note: str | None = None,
    **fields: Any,
) -> bool:
    """Write a terminal status unless the run already has one: the first one wins.

    `only_from` narrows the statuses the run may be leaving; `fields` may set `rc`,
    `stats` and `error`. Returns whether this call wrote. The run's per-host
    results go into its hosts' history in the same transaction, and its secret
    parameter values go: nothing needs them once it has ended. So does `note`, a
    line closing the log, for runs whose own work-horse does not close it: whoever
    sees the run ended sees the whole log (the run page stops polling then).
    """
    assert status.terminal, status

    def write() -> bool:
        wrote = _finish(run_id, status, only_from, fields)
        if wrote and note is not None:
            db.session.execute(note_insert(run_id, note))
        return wrote

    return commit_retrying(write)


def _finish(
    run_id: int,
    status: RunStatus,
    only_from: tuple[RunStatus, ...],
    fields: dict[str, Any],
) -> bool:
    result = db.session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status.in_(only_from))
        .values(status=status, finished_at=utcnow(), secrets=None, **fields)
    )
    if result.rowcount != 1:
        return False
    job_id, stats, finished_at = db.session.execute(
        select(Run.job_id, Run.stats, Run.finished_at).where(Run.id == run_id)
    ).one()
    record_host_results(run_id, job_id, status, stats, finished_at)
    return True
