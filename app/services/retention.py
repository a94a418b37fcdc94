"""Retention: finished runs and their logs beyond their age or count are purged.

A run goes once it is older than `retention_days`, or once its job has more than
`retention_runs_per_job` newer runs. Queued and running runs are never purged.
Deleting goes in small statements with a commit between two, so the web and the
workers, which write to the same tables, never wait long for a lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, delete, false, func, or_, select, text
from sqlalchemy import tuple_ as row

from app.extensions import db
from app.models import Event, Run
from app.models.run import TERMINAL_STATUSES
from app.models.timeutil import utcnow
from app.queue import settings

log = logging.getLogger(__name__)

# Runs whose events one pass of deleting goes through before it deletes them.
_RUNS_PER_STEP = 100


@dataclass
class Purge:
    """Runs and events a purge removed, or would remove."""

    runs: int = 0
    events: int = 0


def doomed() -> ColumnElement[bool]:
    """The condition on runs that the next purge removes."""
    config = settings()
    beyond: list[ColumnElement[bool]] = []
    if config.retention_days > 0:
        cutoff = utcnow() - timedelta(days=config.retention_days)
        beyond.append(Run.queued_at < cutoff)
    if config.retention_runs_per_job > 0:
        beyond.extend(_beyond_count(config.retention_runs_per_job))
    if not beyond:
        return false()
    return and_(Run.status.in_(TERMINAL_STATUSES), or_(*beyond))


def _beyond_count(keep: int) -> list[ColumnElement[bool]]:
    """Per job with more than `keep` runs: its runs older than the newest `keep`."""
    crowded = db.session.scalars(
        select(Run.job_id).group_by(Run.job_id).having(func.count() > keep)
    ).all()
    conditions = []
    for job_id in crowded:
        # Run ids grow with time: the (keep + 1)-th newest and all before it go.
        first_doomed = db.session.scalar(
            select(Run.id)
            .where(Run.job_id == job_id)
            .order_by(Run.id.desc())
            .offset(keep)
            .limit(1)
        )
        conditions.append(and_(Run.job_id == job_id, Run.id <= first_doomed))
    return conditions


def plan() -> Purge:
    """What the next purge would remove, counted, without removing anything."""
    condition = doomed()
    runs = db.session.scalar(select(func.count()).select_from(Run).where(condition))
    events = db.session.scalar(
        select(func.count())
        .select_from(Event)
        .where(Event.run_id.in_(select(Run.id).where(condition)))
    )
    return Purge(runs=runs or 0, events=events or 0)


def purge(max_statements: int = 50) -> Purge:
    """Delete what `doomed()` names, in batches; stop after `max_statements`.

    The limit keeps one pass short: what is left goes with the next pass.
    """
    batch = settings().purge_batch
    condition = doomed()
    done = Purge()
    statements = 0
    while statements < max_statements:
        run_ids = db.session.scalars(
            select(Run.id).where(condition).order_by(Run.id).limit(_RUNS_PER_STEP)
        ).all()
        if not run_ids:
            break

        while statements < max_statements:
            # At most `batch` events per statement, whatever their runs.
            some = (
                select(Event.run_id, Event.seq)
                .where(Event.run_id.in_(run_ids))
                .limit(batch)
            )
            deleted = db.session.execute(
                delete(Event).where(row(Event.run_id, Event.seq).in_(some))
            ).rowcount
            db.session.commit()
            statements += 1
            done.events += deleted
            if deleted < batch:
                break
        else:
            break  # out of statements with events left: the runs wait for next time

        # Terminal runs never change status again; the condition says it anyway.
        done.runs += db.session.execute(
            delete(Run).where(Run.id.in_(run_ids), Run.status.in_(TERMINAL_STATUSES))
        ).rowcount
        db.session.commit()
        statements += 1

    if done.runs or done.events:
        log.info("purged %s runs and %s events", done.runs, done.events)
    return done


def database_size() -> int | None:
    """Bytes the database takes on disk, or None when it cannot be told."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        return db.session.scalar(text("SELECT pg_database_size(current_database())"))
    if engine.dialect.name == "sqlite" and engine.url.database:
        # The main file and the write-ahead log beside it.
        main = Path(engine.url.database)
        return sum(
            path.stat().st_size
            for path in (main, main.with_name(main.name + "-wal"))
            if path.exists()
        )
    return None
