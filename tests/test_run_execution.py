"""Runs executed for real: RQ worker, work-horse, ansible-runner, localhost."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Event, RunStatus
from app.models.event import NOTE
from app.runner import process
from app.runner.spec import run_marker
from app.services import runs

from helpers import with_settings

pytestmark = pytest.mark.all_databases

FAILING_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: first works
      ansible.builtin.command: "true"
    - name: then it breaks
      ansible.builtin.command: /bin/false
    - name: never reached
      ansible.builtin.debug: msg=unreachable
"""

THREE_TASKS = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: one
      ansible.builtin.debug: msg=one
    - name: two changes
      ansible.builtin.command: echo two
    - name: three skipped
      ansible.builtin.debug: msg=three
      when: false
"""


def _events(run) -> list[Event]:
    return list(db.session.query(Event).filter_by(run_id=run.id).order_by(Event.seq))


def _log(run) -> str:
    events = db.session.query(Event).filter_by(run_id=run.id).order_by(Event.seq)
    return "\n".join(event.stdout for event in events if event.stdout)


def test_successful_playbook(make, run_worker):
    job = make.job(playbook=make.playbook(files={"site.yml": THREE_TASKS}))

    run = runs.launch(job)
    assert run.status == RunStatus.QUEUED
    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert run.rc == 0
    assert run.started_at <= run.finished_at
    host = job.hosts[0].name
    assert run.stats[host] == {
        "ok": 2,
        "changed": 1,
        "failed": 0,
        "unreachable": 0,
        "skipped": 1,
    }
    log = _log(run)
    assert "TASK [two changes]" in log
    assert "PLAY RECAP" in log
    assert "\r" not in log


def test_failing_task_fails_the_run(make, run_worker):
    job = make.job(playbook=make.playbook(files={"site.yml": FAILING_PLAYBOOK}))

    run = runs.launch(job)
    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.FAILED
    assert run.rc == 2
    host = job.hosts[0].name
    assert run.stats[host]["failed"] == 1
    assert run.stats[host]["ok"] == 1
    assert host in run.error
    assert "never reached" not in _log(run)


def test_unreachable_host(make, run_worker):
    # Nothing listens on port 9 of 127.0.0.1: ssh is refused at once.
    closed = make.host(
        "closed", connection="ssh", port=9, vars={"ansible_ssh_timeout": 5}
    )
    job = make.job(hosts=[closed], module="ping")

    run = runs.launch(job)
    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.FAILED, _log(run)
    assert run.stats["closed"]["unreachable"] == 1
    assert "unreachable: closed" in run.error
    assert "UNREACHABLE" in _log(run)


def test_adhoc_shell_on_a_group(make, run_worker):
    one, two = make.host("one"), make.host("two")
    group = make.group("pair", hosts=[one, two], vars={"greeting": "hi"})
    job = make.job(
        hosts=[],
        groups=[group],
        module="shell",
        args="echo {{ greeting }} from $((40 + 2))",
    )

    run = runs.launch(job)
    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert set(run.stats) == {"one", "two"}
    assert all(stats["changed"] == 1 for stats in run.stats.values())
    assert _log(run).count("hi from 42") == 2


def test_event_sequence_has_no_gaps(make, run_worker):
    run = runs.launch(make.job(playbook=make.playbook()))
    run_worker()

    seqs = [e.seq for e in db.session.query(Event).filter_by(run_id=run.id)]
    assert sorted(seqs) == list(range(1, len(seqs) + 1))
    assert len(seqs) > 5


def test_extra_vars_and_credential_reach_ansible(make, run_worker):
    playbook = make.playbook(
        files={
            "site.yml": """\
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "colour={{ colour }} user={{ ansible_user }}"
"""
        }
    )
    job = make.job(
        playbook=playbook,
        extra_vars={"colour": "teal"},
        credential=make.credential(username="deployer", secret="pw"),
    )

    run = runs.launch(job)
    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert "colour=teal user=deployer" in _log(run)
    assert "pw" not in _log(run).replace("playbook", "")


def test_timeout_stops_the_run(app, make, run_worker):
    job = make.job(module="command", args="sleep 60", timeout=2)

    run = runs.launch(job)
    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.TIMEOUT
    assert "2 s timeout" in run.error
    assert run.duration < 30


SLEEPY_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: sleep
      ansible.builtin.command: sleep 60
"""


@pytest.mark.parametrize("kind", ["adhoc", "playbook"])
@pytest.mark.parametrize("source", ["job", "default"])
def test_timeout_of_the_job_or_the_default_stops_any_run(
    app, settings, make, run_worker, kind, source
):
    timeout = 2 if source == "job" else None
    if source == "default":
        with_settings(app, default_timeout=2)
    if kind == "adhoc":
        job = make.job(module="command", args="sleep 60", timeout=timeout)
    else:
        playbook = make.playbook(files={"site.yml": SLEEPY_PLAYBOOK})
        job = make.job(playbook=playbook, timeout=timeout)

    run = runs.launch(job)
    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.TIMEOUT, run.error
    assert "2 s timeout" in run.error
    assert run.duration < 30
    last = _events(run)[-1]
    assert last.type == NOTE
    assert last.stdout.startswith("Timed out: stopped after the 2 s timeout, at ")
    assert not process.run_processes(run_marker(run.id, settings.database_url))


def test_cancel_of_a_queued_run(make, run_worker):
    run = runs.launch(make.job())

    assert runs.cancel(run) is True
    assert run.status == RunStatus.CANCELED
    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.CANCELED
    assert run.started_at is None
    assert not runs.cancel(run)


def test_the_log_of_a_canceled_queued_run_says_who_and_when(make, run_worker):
    run = runs.launch(make.job())

    assert runs.cancel(run, by="10.0.0.7")
    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.CANCELED
    assert run.canceled_by == "10.0.0.7"
    when = run.cancel_requested_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert [(e.type, e.stdout) for e in _events(run)] == [
        (NOTE, f"Canceled by 10.0.0.7 at {when}")
    ]


def test_cancel_names_someone_when_nobody_is_given(make):
    run = runs.launch(make.job())

    runs.cancel(run)

    assert run.canceled_by == "someone"
    assert _log(run).startswith("Canceled by someone at ")


def test_terminal_status_is_never_overwritten(make, run_worker):
    from app.models.run import mark_finished

    run = runs.launch(make.job())
    run_worker()
    db.session.refresh(run)
    assert run.status == RunStatus.SUCCESSFUL

    assert mark_finished(run.id, RunStatus.ERROR, error="late") is False
    db.session.refresh(run)
    assert run.status == RunStatus.SUCCESSFUL
    assert run.error == ""


def test_a_run_that_cannot_be_queued_ends_error(app, make):
    with_settings(app, redis_url="redis://127.0.0.1:1/0")
    run = runs.launch(make.job())

    assert run.status == RunStatus.ERROR
    assert "could not be queued" in run.error
