"""An attacker's view of Playdeck: secrets that must not leak out of a run,
sessions that must end, inputs that must not reach further than they should.

Each test here is about a way in that was found open and is now closed, or
about a defence whose regression would go unnoticed elsewhere.
"""

from __future__ import annotations

import os
import signal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from app.extensions import db
from app.models import AuditEntry, Event
from app.runner.sink import MASK
from app.runner.spec import run_marker
from app.services import runs

from helpers import Api, csrf_token
from processes import command_runs, status, wait_for, work_horse


def _events(run) -> list[Event]:
    return list(db.session.query(Event).filter_by(run_id=run.id).order_by(Event.seq))


def _log(run) -> str:
    return "\n".join(event.stdout for event in _events(run) if event.stdout)


# What a run's processes and log hold


def test_ansible_runs_without_playdeck_s_settings_in_its_environment(
    make, run_worker, monkeypatch
):
    # As a worker started with its settings in the environment has them.
    monkeypatch.setenv("PLAYDECK_SECRET_KEY", "the-key-that-signs-sessions")
    monkeypatch.setenv(
        "PLAYDECK_DATABASE_URL", "postgresql://playdeck:db-password@db/playdeck"
    )
    job = make.job(module="shell", args="env")  # on a local-connection host

    run = runs.launch(job)
    run_worker()

    log = _log(run)
    assert "PATH=" in log, "the command printed its environment"
    assert "the-key-that-signs-sessions" not in log
    assert "db-password" not in log
    assert "PLAYDECK_SECRET_KEY" not in log
    assert "PLAYDECK_DATABASE_URL" not in log


ECHO_SECRETS = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: print what ansible was given
      ansible.builtin.debug:
        msg: "{{ ansible_password }} and {{ ansible_become_password }}"
    - name: "once more, in a task's name: {{ ansible_become_password }}"
      ansible.builtin.debug:
        msg: done
"""


def test_a_run_that_prints_a_credential_s_secrets_shows_them_masked(
    app, client, make, run_worker
):
    # Quotes and backslashes come back escaped in ansible's JSON: masked too.
    password, become = 'pw-"quoted"-\\-8361', "become-pass-5520"
    credential = make.credential(secret=password, become_password=become)
    playbook = make.playbook(files={"site.yml": ECHO_SECRETS})
    job = make.job(playbook=playbook, credential=credential)

    run = runs.launch(job)
    run_worker()

    answers = [
        client.get(f"/runs/{run.id}").get_data(as_text=True),
        client.get(f"/runs/{run.id}/raw").get_data(as_text=True),
        Api(app, role="viewer").get(f"/runs/{run.id}/events").get_data(as_text=True),
    ]
    answers.append(" ".join(event.task or "" for event in _events(run)))
    answers.append(" ".join(event.detail or "" for event in _events(run)))
    assert f"{MASK} and {MASK}" in answers[0]
    for text in answers:
        assert MASK in text, "the tasks ran and printed"
        for secret in ("pw-", "quoted", "become-pass-5520"):
            assert secret not in text


def test_a_printed_private_key_is_masked_line_by_line(make, run_worker):
    key = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )
    credential = make.credential(kind="ssh_key", secret=key)
    job = make.job(
        module="command",
        args="cat {{ ansible_ssh_private_key_file }}",
        credential=credential,
    )

    run = runs.launch(job)
    run_worker()

    log = _log(run)
    assert "BEGIN OPENSSH PRIVATE KEY" in log, "the key file was printed"
    for line in key.splitlines()[1:-1]:
        assert line not in log


@pytest.mark.slow
def test_the_scratch_folder_of_a_run_whose_work_horse_died_is_removed(
    make, settings, worker_processes
):
    worker_processes(1)
    job = make.job(module="command", args="sleep 300", credential=make.credential())
    run = runs.launch(job)
    marker = run_marker(run.id, settings.database_url)
    wait_for(lambda: command_runs(marker), 90, f"run {run.id}'s sleep command")
    (folder,) = settings.data_dir.glob(f"run{run.id}-*")
    assert (folder / "secrets" / "vars.json").exists(), "the password is on disk"

    # Killed outright (out of memory, say): no clean-up of its own runs.
    os.kill(work_horse(marker), signal.SIGKILL)

    wait_for(lambda: status(run.id) == "error", 40, "the run to end error")
    assert not folder.exists()


# What anyone may send


def test_a_huge_user_name_at_the_login_form_writes_nothing_big(anon_client):
    # Anyone may post the login form, as often as they like once locked out.
    for _ in range(3):
        response = anon_client.post(
            "/login",
            data={
                "csrf_token": csrf_token(anon_client),
                "username": "x" * 400_000,
                "password": "whatever",
            },
        )
        assert response.status_code == 422

    written = sum(
        len(entry.summary) for entry in db.session.scalars(db.select(AuditEntry))
    )
    assert written < 1000
