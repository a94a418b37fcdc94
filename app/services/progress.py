"""How far a run is: its progress and its host x task grid.

Both are read from what the event sink stored, with bounded queries: the run's
counters and task count on its row, its task starts and per-host results through
their partial indexes (see `app.models.event`). Neither reads the log, so a run
of a million events costs what a run of a thousand does.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from sqlalchemy import Integer, String, column, select, true, values

from app.extensions import db
from app.models import Event, JobKind, Run, RunStatus
from app.models.event import IS_TASK_START

# Successful runs of the same job a playbook's estimate is taken from.
ESTIMATE_RUNS = 3
# Columns (tasks) and rows (hosts) of the grid at once. Earlier tasks come a
# page at a time; hosts beyond the first ones by name are counted, not drawn:
# the log's host filter shows any of them.
GRID_TASKS = 20
GRID_HOSTS = 100


@dataclass(frozen=True)
class Progress:
    """`done` out of `total` hosts (ad-hoc) or tasks (playbook)."""

    unit: str
    done: int
    # None when nothing tells how many there will be.
    total: int | None
    # For a playbook: how many earlier successful runs the total comes from.
    estimated_from: int = 0

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, self.done * 100 // self.total)


def _adhoc(run: Run) -> bool:
    """One module on each host; other kinds (playbooks, uploads) run tasks."""
    return run.summary.get("kind", run.job.kind) == JobKind.ADHOC


def progress(run: Run) -> Progress:
    """Hosts done out of hosts targeted for an ad-hoc run; for a playbook (or an
    upload, which runs one), tasks done out of as many as the job's last
    successful runs had.
    """
    if _adhoc(run):
        total = run.summary.get("host_count") or None
        return Progress("host", len(run.stats or {}), total)

    started = run.task_count or 0
    # While running, the task that started last is still under way.
    done = started if run.state.terminal else max(started - 1, 0)
    counts = list(
        db.session.scalars(
            select(Run.task_count)
            .where(
                Run.job_id == run.job_id,
                Run.id < run.id,
                Run.status == RunStatus.SUCCESSFUL,
                Run.task_count > 0,
            )
            .order_by(Run.id.desc())
            .limit(ESTIMATE_RUNS)
        )
    )
    if not counts:
        return Progress("task", done, None)
    # Never fewer than have started: this run may do more than the last ones.
    total = max(int(statistics.median(counts)), started)
    return Progress("task", done, total, estimated_from=len(counts))


@dataclass(frozen=True)
class GridTask:
    # The sequence of the task's start event; 0 for an ad-hoc run's module.
    seq: int
    name: str


@dataclass
class Grid:
    tasks: list[GridTask]
    hosts: list[str]
    # (host, task seq) -> the host's result for the task (`Event.RESULTS`).
    cells: dict[tuple[str, int], str] = field(default_factory=dict)
    # The `before` that asks for the tasks before these; None at the first.
    earlier: int | None = None
    # Whether these are the newest tasks, the ones a live page keeps updating.
    newest: bool = True
    # Hosts with results that the grid has no row for.
    hosts_left_out: int = 0

    @property
    def empty(self) -> bool:
        return not self.tasks or not self.hosts


def task_grid(run: Run, before: int | None = None) -> Grid:
    """The newest tasks of a run (or those before `before`) by its hosts."""
    if not _adhoc(run):
        query = select(Event.seq, Event.task).where(
            Event.run_id == run.id, IS_TASK_START
        )
        if before is not None:
            query = query.where(Event.seq < before)
        rows = db.session.execute(
            query.order_by(Event.seq.desc()).limit(GRID_TASKS + 1)
        ).all()
        shown = list(reversed(rows[:GRID_TASKS]))
        tasks = [GridTask(seq, name or "(unnamed task)") for seq, name in shown]
        earlier = tasks[0].seq if len(rows) > GRID_TASKS else None
    else:
        module = run.summary.get("description") or run.job.module
        tasks, earlier = [GridTask(0, module.split(" ", 1)[0] or "module")], None

    everyone = sorted(run.stats or {})
    hosts = everyone[:GRID_HOSTS]
    return Grid(
        tasks=tasks,
        hosts=hosts,
        cells=_cells(run.id, tasks, hosts),
        earlier=earlier,
        newest=before is None,
        hosts_left_out=max(len(everyone) - GRID_HOSTS, 0),
    )


def _cells(
    run_id: int, tasks: list[GridTask], hosts: list[str]
) -> dict[tuple[str, int], str]:
    """Each host's latest result for each task: one step down the index per cell
    (a correlated subquery with LIMIT 1), so that a task with a great many
    results for one host costs what a task with one does.
    """
    if not tasks or not hosts:
        return {}
    task = (
        values(column("task_seq", Integer), name="grid_task")
        .data([(one.seq,) for one in tasks])
        .cte("grid_task")
    )
    host = (
        values(column("host", String), name="grid_host")
        .data([(name,) for name in hosts])
        .cte("grid_host")
    )
    latest = (
        select(Event.result)
        .where(
            Event.run_id == run_id,
            Event.task_seq == task.c.task_seq,
            Event.host == host.c.host,
            Event.result.is_not(None),
        )
        .order_by(Event.seq.desc())
        .limit(1)
        .correlate(task, host)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(host.c.host, task.c.task_seq, latest).select_from(
            host.join(task, true())
        )
    )
    return {(name, seq): result for name, seq, result in rows if result}


def task_result(run: Run, host: str, task_seq: int) -> Event | None:
    """A host's result for one task of a run: the event with its text."""
    return db.session.scalar(
        select(Event)
        .where(
            Event.run_id == run.id,
            Event.task_seq == task_seq,
            Event.host == host,
            Event.result.is_not(None),
        )
        .order_by(Event.seq.desc())
        .limit(1)
    )
