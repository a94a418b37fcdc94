"""Relaunch: the same inputs again, on every host or on those that failed, read
from the run's stored events, even when the run ended without ansible's final
stats; the runs link to each other."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, Event, Run, RunStatus
from app.runner.spec import run_marker
from app.services import ServiceError
from app.services import runs as run_service

from helpers import Api, api_error, csrf_token, login, run_log
from processes import command_runs, status, wait_for

pytestmark = pytest.mark.all_databases

# Host `bad` fails its first task, `good` goes on.
ONE_FAILS = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: fails on the bad host
      ansible.builtin.fail:
        msg: bad by design
      when: inventory_hostname == 'bad'
    - name: failures ignored do not count
      ansible.builtin.command: /bin/false
      ignore_errors: true
    - name: say which
      ansible.builtin.debug:
        msg: colour={{ colour }} on {{ inventory_hostname }}
"""

# `bad` fails at once; `good` sleeps until the run is canceled.
FAILS_THEN_SLEEPS = """\
- hosts: all
  gather_facts: false
  strategy: free
  tasks:
    - name: fail on the bad host
      ansible.builtin.command: /bin/false
      when: inventory_hostname == 'bad'
    - name: sleep on the good host
      ansible.builtin.command: sleep 300
      when: inventory_hostname == 'good'
"""


def _pair(make, playbook: str, **fields):
    good, bad = make.host("good"), make.host("bad")
    return make.job(
        hosts=[good, bad],
        playbook=make.playbook(files={"site.yml": playbook}),
        extra_vars={"colour": "job"},
        **fields,
    )


def _finished(run_worker, run: Run) -> Run:
    run_worker()
    db.session.refresh(run)
    assert run.state.terminal
    return run


def test_a_relaunch_on_the_failed_hosts_runs_only_them(client, make, run_worker):
    job = _pair(make, ONE_FAILS, ask_at_launch=["verbosity"])
    first = run_service.launch(
        job, extra_vars={"colour": "launch"}, options={"verbosity": 1}
    )
    _finished(run_worker, first)
    assert first.status == RunStatus.FAILED
    assert run_service.hosts_that_failed(first.id) == ["bad"]

    again = run_service.relaunch(first, "failed")
    _finished(run_worker, again)

    assert again.relaunch_of_id == first.id
    assert again.limit == "bad"
    assert set(again.stats) == {"bad"}
    assert "bad by design" in run_log(again)
    assert (again.extra_vars, again.options["verbosity"]) == ({"colour": "launch"}, 1)

    page = client.get(f"/runs/{again.id}").get_data(as_text=True)
    assert f'data-relaunch-of><a href="/runs/{first.id}">run #{first.id}</a>' in page
    page = client.get(f"/runs/{first.id}").get_data(as_text=True)
    assert f'<a href="/runs/{again.id}">run #{again.id}</a>' in page


def test_a_relaunch_with_the_same_inputs_runs_every_host_again(make, run_worker):
    job = _pair(make, ONE_FAILS)
    first = _finished(run_worker, run_service.launch(job, limit="good,bad"))

    again = _finished(run_worker, run_service.relaunch(first))

    assert again.limit == "good,bad"
    assert set(again.stats) == {"good", "bad"}
    assert again.relaunch_of == first and first.relaunches == [again]


def test_failed_plus_unreachable_takes_both_and_failed_alone_one(make, run_worker):
    closed = make.host(
        "closed", connection="ssh", port=9, vars={"ansible_ssh_timeout": 5}
    )
    job = _pair(make, ONE_FAILS)
    job.hosts = [*job.hosts, closed]
    db.session.commit()
    first = _finished(run_worker, run_service.launch(job))

    assert run_service.hosts_that_failed(first.id) == ["bad"]
    assert run_service.hosts_that_failed(first.id, unreachable=True) == [
        "bad",
        "closed",
    ]
    again = run_service.relaunch(first, "unreachable")
    assert again.limit == "bad,closed"


def test_a_failure_ignored_is_not_a_failed_host(make, run_worker):
    job = _pair(make, ONE_FAILS)
    first = _finished(run_worker, run_service.launch(job))

    failures = db.session.scalars(
        select(Event).where(Event.run_id == first.id, Event.type == "runner_on_failed")
    ).all()
    # `good` failed the ignored task only; `bad` failed the first one.
    assert sorted((e.host, e.result) for e in failures) == [
        ("bad", "failed"),
        ("good", "ignored"),
    ]
    assert run_service.hosts_that_failed(first.id) == ["bad"]


def test_nothing_failed_nothing_to_relaunch(make, run_worker, app):
    run = _finished(run_worker, run_service.launch(make.job()))
    api = Api(app, "operator")

    answer = api.post(f"/runs/{run.id}/relaunch", {"hosts": "failed"})

    assert "No host failed in run" in api_error(answer, 409)["message"]
    answer = api.post(f"/runs/{run.id}/relaunch", {"hosts": "some"})
    assert api_error(answer, 422)["fields"]["hosts"].startswith("Choose one of")


def test_a_canceled_run_without_final_stats_relaunches_its_failed_host(
    app, settings, make, worker_process
):
    job = _pair(make, FAILS_THEN_SLEEPS)
    run = run_service.launch(job)

    def failed_and_sleeping() -> bool:
        db.session.expire_all()
        failed = run_service.hosts_that_failed(run.id) == ["bad"]
        return failed and command_runs(run_marker(run.id, settings.database_url))

    wait_for(failed_and_sleeping, 90, "bad to fail while good sleeps")
    assert run_service.cancel(db.session.get(Run, run.id), by="tester")
    wait_for(lambda: status(run.id) == RunStatus.CANCELED, 60, "the run to cancel")

    run = db.session.get(Run, run.id)
    types = set(db.session.scalars(select(Event.type).where(Event.run_id == run.id)))
    assert "playbook_on_stats" not in types, "ansible never wrote its final stats"
    api = Api(app, "operator")
    answer = api.post(f"/runs/{run.id}/relaunch", {"hosts": "failed"})

    assert answer.status_code == 202, answer.get_json()
    again = answer.get_json()
    assert (again["limit"], again["relaunch_of"]) == ("bad", run.id)
    assert answer.headers["Location"] == f"/api/v1/runs/{again['id']}"
    wait_for(lambda: status(again["id"]) == RunStatus.FAILED, 90, "the relaunch")
    assert set(db.session.get(Run, again["id"]).stats) == {"bad"}


def test_failed_hosts_wait_for_the_run_to_end(make):
    job = _pair(make, ONE_FAILS)
    run = run_service.launch(job)

    with pytest.raises(ServiceError, match="is still queued"):
        run_service.relaunch(run, "failed")
    # The same inputs can be run again at any time.
    assert run_service.relaunch(run).relaunch_of == run


def test_the_run_page_buttons_relaunch_for_operators_only(app, make, run_worker):
    job = _pair(make, ONE_FAILS)
    first = _finished(run_worker, run_service.launch(job))
    operator = app.test_client()
    login(operator, "operator")
    viewer = app.test_client()
    login(viewer, "viewer")

    page = operator.get(f"/runs/{first.id}").get_data(as_text=True)
    buttons = re.findall(r'data-relaunch-hosts="(\w+)"', page)
    assert buttons == ["all", "failed"]
    assert "Relaunch on failed hosts (1)" in page
    assert "data-relaunch-hosts" not in viewer.get(f"/runs/{first.id}").get_data(
        as_text=True
    )

    assert (
        operator.post(
            f"/runs/{first.id}/relaunch", data={"hosts": "failed"}
        ).status_code
        == 400
    ), "no CSRF token"
    assert (
        viewer.post(
            f"/runs/{first.id}/relaunch",
            data={"hosts": "failed", "csrf_token": csrf_token(viewer)},
        ).status_code
        == 403
    )
    response = operator.post(
        f"/runs/{first.id}/relaunch",
        data={"hosts": "failed", "csrf_token": csrf_token(operator)},
    )

    assert response.status_code == 302
    again = db.session.scalars(select(Run).order_by(Run.id.desc())).first()
    assert response.headers["Location"] == f"/runs/{again.id}"
    assert (again.relaunch_of_id, again.limit) == (first.id, "bad")


def test_the_relaunch_is_recorded_in_the_audit_trail(app, make, run_worker):
    job = _pair(make, ONE_FAILS)
    first = _finished(run_worker, run_service.launch(job))

    again = run_service.relaunch(first, "failed")

    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_id == again.id)
    ).one()
    assert f"a relaunch of run {first.id} on its failed hosts" in entry.summary
    assert entry.changes["relaunch_of"] == first.id
    assert entry.changes["limit"] == "bad"
