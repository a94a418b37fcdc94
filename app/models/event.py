"""Events: what ansible-runner reported during a run, in order.

The stdout of a run's events, by sequence, is the run's log. The primary key is
(run, sequence) so that "events after N" is a range read of the index.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.timeutil import utcnow


class Event(db.Model):
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The event type of lines Playdeck itself adds to a run's log (who canceled it,
# why it ended), as opposed to the events ansible-runner reports.
NOTE = "playdeck_note"


def append_note(run_id: int, text: str) -> None:
    """Add a line of Playdeck's own after the last line of a run's log.

    Only for runs no process writes events to any more: the event sink numbers its
    events itself. Two notes at once may pick the same number; the second then
    tries again with the next one.
    """
    next_seq = (
        select(func.coalesce(func.max(Event.seq), 0) + 1)
        .where(Event.run_id == run_id)
        .scalar_subquery()
    )
    for attempt in range(3):
        try:
            db.session.execute(
                insert(Event).values(
                    run_id=run_id,
                    seq=next_seq,
                    type=NOTE,
                    stdout=text,
                    created_at=utcnow(),
                )
            )
            db.session.commit()
            return
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
