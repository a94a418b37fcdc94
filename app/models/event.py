"""Events: what ansible-runner reported during a run, in order.

The stdout of a run's events, by sequence, is the run's log. The primary key is
(run, sequence) so that "events after N" is a range read of the index. Three
partial indexes serve the run page without reading a whole log: the lines of
one host, the run's task starts (the columns of its host x task grid), and the
per-host results of each task (the grid's cells: a host's latest result for a
task is one step down the index, however many there are).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ForeignKey, Index, String, Text, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.timeutil import utcnow

T = TypeVar("T")

# The events that start a task, once for all the hosts of a play; handlers too.
TASK_STARTS = ("playbook_on_task_start", "playbook_on_handler_task_start")
_TASK_START = f"type IN {TASK_STARTS!r}"
# Queries repeat the index's own predicate, as literal SQL: SQLite uses a partial
# index only when the query's WHERE holds the same terms, not bound parameters.
IS_TASK_START = text(_TASK_START)
HAS_RESULT = text("result IS NOT NULL")


class Event(db.Model):
    __table_args__ = (
        Index(
            "ix_event_run_id_host",
            "run_id",
            "host",
            "seq",
            sqlite_where=text("host IS NOT NULL"),
            postgresql_where=text("host IS NOT NULL"),
        ),
        Index(
            "ix_event_task_start",
            "run_id",
            "seq",
            sqlite_where=text(_TASK_START),
            postgresql_where=text(_TASK_START),
        ),
        Index(
            "ix_event_result",
            "run_id",
            "task_seq",
            "host",
            "seq",
            sqlite_where=HAS_RESULT,
            postgresql_where=HAS_RESULT,
        ),
    )

    run_id: Mapped[int] = mapped_column(
        ForeignKey("run.id", ondelete="CASCADE"), primary_key=True
    )
    # 1, 2, 3 ... within the run, without gaps.
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # ansible-runner's event name, such as `runner_on_ok` or `playbook_on_task_start`.
    type: Mapped[str] = mapped_column(String(64))
    host: Mapped[str | None] = mapped_column(String(255))
    task: Mapped[str | None] = mapped_column(String(1024))
    # The lines ansible printed for this event, with ANSI colours, `\n` line ends.
    stdout: Mapped[str] = mapped_column(Text, default="")
    # On a host's final result for a task (`runner_on_ok`, `runner_on_failed`...):
    # the sequence of the event that started the task (0 for an ad-hoc run,
    # whose one module has no start event), the result as the grid colours it
    # (`RESULTS`), and a short text of what the task returned.
    task_seq: Mapped[int | None]
    result: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# What a host's result for a task can be, as the grid and its legend show it: the
# counters' names, and `ignored` for a failure the task was told to ignore.
RESULTS = ("ok", "changed", "failed", "unreachable", "skipped", "ignored")

# The event type of lines Playdeck itself adds to a run's log (who canceled it,
# why it ended), as opposed to the events ansible-runner reports.
NOTE = "playdeck_note"
# ansible-runner's name of the event in which ansible prints the changes a task
# made, or would make in check mode (with diff mode).
FILE_DIFF = "runner_on_file_diff"


def note_insert(run_id: int, text: str):
    """The statement that adds a line of Playdeck's own after the last line of a
    run's log. It fails on the (run, sequence) key when another process added a
    line at the same moment (see `commit_retrying`)."""
    next_seq = (
        select(func.coalesce(func.max(Event.seq), 0) + 1)
        .where(Event.run_id == run_id)
        .scalar_subquery()
    )
    return insert(Event).values(
        run_id=run_id, seq=next_seq, type=NOTE, stdout=text, created_at=utcnow()
    )


def commit_retrying(write: Callable[[], T]) -> T:
    """Run `write` and commit what it did; run it again, three times in all,
    when a line of Playdeck's own it added (`note_insert`) met one another
    process added at the same moment: the next try takes the next number."""
    attempts = 3
    while True:
        try:
            done = write()
            db.session.commit()
            return done
        except IntegrityError:
            db.session.rollback()
            attempts -= 1
            if not attempts:
                raise


def append_note(run_id: int, text: str) -> None:
    """Add a line of Playdeck's own after the last line of a run's log.

    Only for runs no process writes events to any more: the event sink numbers its
    events itself.
    """
    commit_retrying(lambda: db.session.execute(note_insert(run_id, text)))
