"""How far a run is: results stored by the event sink, the progress bar's figures
and the host x task grid, from ansible's real events and from made-up ones.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Event, Run, RunHost, RunStatus
from app.models.run import mark_finished, mark_running
from app.runner.sink import DETAIL_LIMIT, EventSink
from app.services import progress as progress_service
from app.services import runs

GRID_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: say hello
      ansible.builtin.debug: msg="hello <b>{{ inventory_hostname }}</b>"
    - name: change something
      ansible.builtin.command: echo changed
    - name: fail on web2 only
      ansible.builtin.command: /bin/false
      when: inventory_hostname == "web2"
    - name: after the failure
      ansible.builtin.debug:
        msg: still here
"""


def _run(make, kind="playbook", **summary) -> Run:
    job = make.job(playbook=make.playbook()) if kind == "playbook" else make.job()
    run = Run(job=job, summary={"kind": kind, **summary})
    db.session.add(run)
    db.session.commit()
    mark_running(run.id)
    db.session.refresh(run)
    return run


def _task(sink: EventSink, name: str, uuid: str) -> int:
    sink.handle(
        {
            "event": "playbook_on_task_start",
            "event_data": {"task": name, "task_uuid": uuid},
            "stdout": f"\nTASK [{name}] ***",
        }
    )
    return sink.seq


def _result(sink, event, host, uuid, res=None, **data) -> None:
    sink.handle(
        {
            "event": event,
            "event_data": {"host": host, "task_uuid": uuid, "res": res or {}, **data},
            "stdout": f"{event}: [{host}]",
        }
    )


@pytest.mark.all_databases
def test_a_real_playbook_fills_the_grid_from_its_stored_events(make, run_worker):
    web1, web2 = make.host("web1"), make.host("web2")
    playbook = make.playbook(files={"site.yml": GRID_PLAYBOOK})
    run = runs.launch(make.job(playbook=playbook, hosts=[web1, web2]))

    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.FAILED
    assert run.task_count == 4
    grid = progress_service.task_grid(run)
    names = [task.name for task in grid.tasks]
    assert names == [
        "say hello",
        "change something",
        "fail on web2 only",
        "after the failure",
    ]
    assert grid.hosts == ["web1", "web2"]
    row = {
        host: [grid.cells.get((host, task.seq)) for task in grid.tasks]
        for host in grid.hosts
    }
    assert row["web1"] == ["ok", "changed", "skipped", "ok"]
    assert row["web2"] == ["ok", "changed", "failed", None]  # it stopped there

    hello = progress_service.task_result(run, "web1", grid.tasks[0].seq)
    assert hello.detail == "hello <b>web1</b>"
    failed = progress_service.task_result(run, "web2", grid.tasks[2].seq)
    assert json.loads(failed.detail)["rc"] == 1
    assert "_ansible_no_log" not in failed.detail


def test_the_sink_stores_each_hosts_result_under_its_task(make):
    run = _run(make)
    sink = EventSink(run.id, batch_size=100, batch_seconds=10)
    first = _task(sink, "install", "u1")
    _result(sink, "runner_on_ok", "a", "u1", {"changed": True, "stdout": "done"})
    _result(sink, "runner_on_failed", "b", "u1", {"msg": "boom"})
    second = _task(sink, "check", "u2")
    _result(sink, "runner_on_failed", "a", "u2", {"msg": "no"}, ignore_errors=True)
    _result(sink, "runner_on_unreachable", "b", "u2", {"msg": "ssh: refused"})
    _result(sink, "runner_on_skipped", "c", "u2")
    sink.handle({"event": "runner_item_on_ok", "event_data": {"host": "a"}})
    sink.flush()

    rows = db.session.execute(
        select(Event.host, Event.task_seq, Event.result, Event.detail)
        .where(Event.run_id == run.id, Event.result.is_not(None))
        .order_by(Event.seq)
    ).all()
    assert [tuple(row[:3]) for row in rows] == [
        ("a", first, "changed"),
        ("b", first, "failed"),
        ("a", second, "ignored"),
        ("b", second, "unreachable"),
        ("c", second, "skipped"),
    ], "loop items are not results: each host's final one for the task is"
    assert rows[1].detail == "boom"
    assert json.loads(rows[0].detail) == {"changed": True, "stdout": "done"}
    db.session.refresh(run)
    assert run.task_count == 2


def test_an_adhoc_runs_results_have_no_task_start(make):
    run = _run(make, kind="adhoc", description="command uptime", host_count=3)
    sink = EventSink(run.id, batch_size=100, batch_seconds=10)
    _result(sink, "runner_on_ok", "a", "x", {"stdout": "up 3 days", "rc": 0})
    _result(sink, "runner_on_failed", "b", "x", {"msg": "no python"})
    sink.flush()
    db.session.refresh(run)

    grid = progress_service.task_grid(run)

    assert [(task.seq, task.name) for task in grid.tasks] == [(0, "command")]
    assert grid.cells == {("a", 0): "ok", ("b", 0): "failed"}
    progress = progress_service.progress(run)
    assert (progress.unit, progress.done, progress.total) == ("host", 2, 3)
    assert progress.percent == 66


def test_a_long_result_is_cut_with_a_word_on_where_the_rest_is(make):
    run = _run(make)
    sink = EventSink(run.id, batch_size=100, batch_seconds=10)
    _task(sink, "print", "u1")
    _result(sink, "runner_on_ok", "a", "u1", {"stdout": "x" * (DETAIL_LIMIT * 2)})
    sink.flush()

    detail = db.session.scalar(select(Event.detail).where(Event.result.is_not(None)))

    assert len(detail) < DETAIL_LIMIT + 100
    assert detail.endswith("(cut here: the log has all of it)")


def test_a_playbooks_progress_is_estimated_from_the_last_successful_runs(make):
    job = make.job(playbook=make.playbook())
    for status, count in [
        (RunStatus.SUCCESSFUL, 30),  # older than the last three: not counted
        (RunStatus.SUCCESSFUL, 10),
        (RunStatus.FAILED, 2),  # failed runs stop early: never counted
        (RunStatus.SUCCESSFUL, 12),
        (RunStatus.SUCCESSFUL, 11),
    ]:
        db.session.add(Run(job=job, status=status, task_count=count))
    run = Run(job=job, status=RunStatus.RUNNING, summary={"kind": "playbook"})
    db.session.add(run)
    db.session.commit()

    assert progress_service.progress(run).total is not None
    run.task_count = 5
    progress = progress_service.progress(run)
    assert (progress.done, progress.total, progress.estimated_from) == (4, 11, 3)

    run.task_count = 14  # more than ever before: the estimate grows with it
    assert progress_service.progress(run).total == 14

    run.status = RunStatus.SUCCESSFUL
    assert progress_service.progress(run).done == 14


def test_without_an_earlier_success_a_playbook_has_no_estimate(make):
    run = _run(make)
    run.task_count = 3

    progress = progress_service.progress(run)

    assert (progress.done, progress.total, progress.percent) == (2, None, None)


def test_the_grid_shows_the_newest_tasks_and_pages_back(make, monkeypatch):
    monkeypatch.setattr(progress_service, "GRID_TASKS", 3)
    run = _run(make)
    sink = EventSink(run.id, batch_size=100, batch_seconds=10)
    starts = []
    for number in range(1, 8):
        starts.append(_task(sink, f"task {number}", f"u{number}"))
        _result(sink, "runner_on_ok", "a", f"u{number}")
    sink.flush()
    db.session.refresh(run)

    newest = progress_service.task_grid(run)
    assert [task.name for task in newest.tasks] == ["task 5", "task 6", "task 7"]
    assert newest.newest and newest.earlier == starts[4]

    before = progress_service.task_grid(run, before=newest.earlier)
    assert [task.name for task in before.tasks] == ["task 2", "task 3", "task 4"]
    assert not before.newest
    first = progress_service.task_grid(run, before=before.earlier)
    assert [task.name for task in first.tasks] == ["task 1"]
    assert first.earlier is None


def test_the_grid_draws_a_bounded_number_of_hosts(make, monkeypatch):
    monkeypatch.setattr(progress_service, "GRID_HOSTS", 2)
    run = _run(make)
    sink = EventSink(run.id, batch_size=100, batch_seconds=10)
    _task(sink, "t", "u")
    for host in ("c", "a", "d", "b"):
        _result(sink, "runner_on_ok", host, "u")
    sink.flush()
    db.session.refresh(run)

    grid = progress_service.task_grid(run)

    assert grid.hosts == ["a", "b"]
    assert grid.hosts_left_out == 2


@pytest.mark.all_databases
def test_a_finished_run_records_each_hosts_result_once(make):
    run = _run(make)
    stats = {"web1": {"ok": 2, "changed": 1}, "web2": {"ok": 1, "unreachable": 1}}

    assert mark_finished(run.id, RunStatus.FAILED, stats=stats)
    assert not mark_finished(run.id, RunStatus.ERROR, stats={"web3": {"ok": 1}})

    rows = db.session.scalars(select(RunHost).order_by(RunHost.host)).all()
    assert [(row.host, row.outcome, row.status) for row in rows] == [
        ("web1", "changed", "failed"),
        ("web2", "unreachable", "failed"),
    ]
    assert (rows[0].ok, rows[0].changed, rows[0].failed) == (2, 1, 0)
