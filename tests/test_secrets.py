"""Secret parameters: they reach ansible, and nothing else ever shows or keeps
them in clear: not the log, the run page, the raw log, the API, the audit trail
or any column of the database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.crypto import decrypt
from app.extensions import db
from app.models import AuditEntry, Run, RunStatus
from app.models.run import MASKED
from app.runner.sink import Masks
from app.services import runs as run_service

from helpers import Api, api_error, csrf_token

pytestmark = pytest.mark.all_databases

# Quotes and a backslash: ansible escapes them when it prints JSON.
SECRET = 'hunter2-"quoted"-\\-s3cr3t'

PRINTS_THE_SECRET = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: "use {{ db_password }} in a task's name"
      ansible.builtin.debug:
        var: db_password
    - name: say it
      ansible.builtin.debug:
        msg: "the password is {{ db_password }} and the user {{ db_user }}"
    - name: keep it where the test can read it
      ansible.builtin.copy:
        content: "{{ db_password }}"
        dest: "{{ out }}"
        mode: "0600"
"""


def _job(make, tmp_path):
    parameters = [
        {
            "name": "db_password",
            "label": "Database password",
            "type": "secret",
            "required": True,
            "default": None,
            "help": "",
            "choices": [],
        },
        {
            "name": "db_user",
            "label": "db_user",
            "type": "text",
            "required": False,
            "default": "app",
            "help": "",
            "choices": [],
        },
    ]
    return make.job(
        playbook=make.playbook(files={"site.yml": PRINTS_THE_SECRET}),
        parameters=parameters,
        extra_vars={"out": str(tmp_path / "received")},
        # Verbose, so that ansible prints task arguments and results of its own.
        verbosity=3,
    )


def _everything_stored() -> str:
    """Every row of every table, as text, blobs included."""
    dumped = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("latin-1")
                    dumped.append(json.dumps(value, default=str))
    return "\n".join(dumped)


def _forms(secret: str) -> list[str]:
    """The secret as any output might hold it."""
    return [secret, json.dumps(secret)[1:-1], "hunter2"]


def test_a_secret_reaches_ansible_and_is_masked_everywhere(
    client, make, run_worker, tmp_path
):
    job = _job(make, tmp_path)

    response = client.post(
        f"/jobs/{job.id}/launch",
        data={"csrf_token": csrf_token(client), "param_db_password": SECRET},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    run = db.session.scalar(select(Run))

    # Queued: the value waits encrypted in the run, for the worker only.
    assert run.parameters == {"db_password": MASKED, "db_user": "app"}
    assert run.secrets is not None
    assert json.loads(decrypt(run.secrets)) == {"db_password": SECRET}
    for form in _forms(SECRET):
        assert form not in _everything_stored()

    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert (tmp_path / "received").read_text() == SECRET, "ansible got it"
    assert run.secrets is None, "erased once the run ended"

    events = run_service.events_after(run.id, 0, 1000)
    log = "\n".join(f"{event.task}\n{event.stdout}" for event in events)
    assert f"the password is {MASKED} and the user app" in log
    assert f'"db_password": "{MASKED}"' in log
    assert f"use {MASKED} in a task's name" in log

    answers = {
        "run page": client.get(f"/runs/{run.id}").get_data(as_text=True),
        "raw log": client.get(f"/runs/{run.id}/raw").get_data(as_text=True),
        "audit page": client.get("/audit/").get_data(as_text=True),
    }
    api = Api(client.application)
    answers["api run"] = api.get(f"/runs/{run.id}").get_data(as_text=True)
    answers["api events"] = api.get(f"/runs/{run.id}/events?limit=1000").get_data(
        as_text=True
    )
    answers["api job"] = api.get(f"/jobs/{job.id}").get_data(as_text=True)
    answers["database"] = _everything_stored()
    for where, answer in answers.items():
        for form in _forms(SECRET):
            assert form not in answer, f"the secret shows in the {where}"
    assert MASKED in answers["run page"] and MASKED in answers["api run"]
    assert "Database password" in answers["run page"]


def test_the_audit_entry_of_a_launch_masks_the_secret(app, make):
    # A name the audit trail's own fence (pass, secret, token, key) lets through.
    code = {"name": "unlock_code", "label": "Code", "type": "secret"}
    job = make.job(parameters=[{**code, "required": True, "default": None}])

    run = run_service.launch(job, parameters={"unlock_code": "code-for-audit"})

    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_id == run.id)
    ).one()
    assert entry.changes["parameters"] == {"unlock_code": MASKED}
    assert "code-for-audit" not in json.dumps(entry.changes) + entry.summary


def test_a_run_that_ends_before_it_starts_erases_its_secret(app, make, tmp_path):
    run = run_service.launch(_job(make, tmp_path), parameters={"db_password": "x1"})
    assert run.secrets is not None

    run_service.cancel(run)

    db.session.refresh(run)
    assert run.status == RunStatus.CANCELED
    assert run.secrets is None


def test_a_relaunch_asks_for_the_secret_again(client, make, run_worker, tmp_path):
    job = _job(make, tmp_path)
    api = Api(client.application, "operator")
    first = run_service.launch(job, parameters={"db_password": "first-secret"})
    run_worker()

    # The API names what is missing...
    refused = api.post(f"/runs/{first.id}/relaunch", {})
    assert api_error(refused, 422)["fields"] == {
        "parameters.db_password": "Give this secret again: secrets are not kept "
        "once a run ends."
    }

    # ... the run page's button answers with a form asking for it...
    asked = client.post(
        f"/runs/{first.id}/relaunch",
        data={"csrf_token": csrf_token(client), "hosts": "all"},
    )
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert 'name="param_db_password" type="password"' in page
    assert 'name="param_db_user"' not in page, "the rest is the run's"

    # ... which relaunches once it is given.
    sent = client.post(
        f"/runs/{first.id}/relaunch",
        data={
            "csrf_token": csrf_token(client),
            "hosts": "all",
            "answered": "yes",
            "param_db_password": "second-secret",
        },
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)
    again = db.session.scalars(select(Run).order_by(Run.id.desc())).first()
    assert again.relaunch_of_id == first.id
    run_worker()
    db.session.refresh(again)
    assert again.status == RunStatus.SUCCESSFUL, again.error
    assert (tmp_path / "received").read_text() == "second-secret"
    assert again.parameters == {"db_password": MASKED, "db_user": "app"}


def test_the_masks_find_a_secret_as_ansible_escapes_it():
    both_quotes = 'it\'s "quoted"'
    masks = Masks(['pa"ss\\word', "", "é-unicode", both_quotes])

    assert masks.apply('{"pw": "pa\\"ss\\\\word"}') == f'{{"pw": "{MASKED}"}}'
    assert masks.apply('raw pa"ss\\word here') == f"raw {MASKED} here"
    assert masks.apply('"\\u00e9-unicode"') == f'"{MASKED}"'
    assert masks.apply(repr(both_quotes)) == f"'{MASKED}'", "as Python prints it"
    assert masks.apply("nothing secret") == "nothing secret"
