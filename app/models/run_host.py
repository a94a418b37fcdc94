"""How each host fared in each finished run: a host's history across jobs.

A run keeps its per-host counters in `Run.stats`, a JSON mapping by host name
that no database indexes. When a run ends, one row per host is written here in
the same transaction, indexed by host name, so that a host's page finds its
newest runs and its last result in every job without reading every run.

Rows name the host as the run saw it: a host renamed later keeps its history
under its old name, and a deleted host's history stays with its runs.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, insert
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

# The counters ansible reports for each host, in the order pages show them.
STAT_KEYS = ("ok", "changed", "failed", "unreachable", "skipped")


class HostOutcome(enum.StrEnum):
    """One word for how a run went on one host, the worst of its counters first."""

    UNREACHABLE = "unreachable"
    FAILED = "failed"
    CHANGED = "changed"
    OK = "ok"
    SKIPPED = "skipped"


# Outcomes that mean the run went wrong on the host.
WENT_WRONG = (HostOutcome.UNREACHABLE, HostOutcome.FAILED)


def outcome_of(counts: dict[str, int]) -> HostOutcome:
    for outcome in HostOutcome:
        if counts.get(outcome.value, 0):
            return outcome
    return HostOutcome.SKIPPED


class RunHost(db.Model):
    __tablename__ = "run_host"
    __table_args__ = (
        # A host's newest runs, and its newest run of each job.
        Index("ix_run_host_host_run_id", "host", "run_id"),
        Index("ix_run_host_host_job_id_run_id", "host", "job_id", "run_id"),
    )

    run_id: Mapped[int] = mapped_column(
        ForeignKey("run.id", ondelete="CASCADE"), primary_key=True
    )
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"))
    # The run's terminal status, and the host's own `HostOutcome` in it.
    status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    ok: Mapped[int] = mapped_column(default=0)
    changed: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    unreachable: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    finished_at: Mapped[datetime | None]


def host_rows(
    run_id: int,
    job_id: int,
    status: str,
    stats: dict[str, dict[str, Any]] | None,
    finished_at: datetime | None,
) -> list[dict[str, Any]]:
    """The rows of one finished run, from its per-host counters."""
    rows = []
    for host, counts in (stats or {}).items():
        numbers = {key: int(counts.get(key, 0) or 0) for key in STAT_KEYS}
        rows.append(
            {
                "run_id": run_id,
                "host": host[:255],
                "job_id": job_id,
                "status": status,
                "outcome": outcome_of(numbers).value,
                "finished_at": finished_at,
                **numbers,
            }
        )
    return rows


def record_host_results(
    run_id: int,
    job_id: int,
    status: str,
    stats: dict[str, dict[str, Any]] | None,
    finished_at: datetime | None,
) -> None:
    """Write a finished run's rows, in the caller's transaction (not committed)."""
    rows = host_rows(run_id, job_id, status, stats, finished_at)
    if rows:
        db.session.execute(insert(RunHost), rows)
