"""Runs over SSH to a real sshd on 127.0.0.1, with a key credential."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.extensions import db
from app.models import Credential, Event, RunStatus
from app.services import runs

pytestmark = pytest.mark.slow


def _ssh_host(make, ssh_server, **vars):
    return make.host(
        "sshhost",
        connection="ssh",
        port=ssh_server.port,
        vars={"ansible_python_interpreter": sys.executable, **vars},
    )


def _key_credential(make, ssh_server) -> Credential:
    return make.credential(
        kind="ssh_key", username=ssh_server.user, secret=ssh_server.private_key
    )


def _log(run) -> str:
    events = db.session.query(Event).filter_by(run_id=run.id).order_by(Event.seq)
    return "\n".join(event.stdout for event in events)


def test_playbook_over_ssh_with_a_key(make, run_worker, ssh_server):
    job = make.job(
        hosts=[_ssh_host(make, ssh_server)],
        credential=_key_credential(make, ssh_server),
        module="shell",
        args="echo over-ssh-$SSH_CONNECTION",
    )

    run = runs.launch(job)
    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.SUCCESSFUL, _log(run)
    assert "over-ssh-127.0.0.1" in _log(run)
    assert run.stats["sshhost"]["changed"] == 1


def test_wrong_key_makes_the_host_unreachable(make, run_worker, ssh_server, tmp_path):
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")],
        check=True,
    )
    stranger = make.credential(
        kind="ssh_key", username=ssh_server.user, secret=(tmp_path / "k").read_text()
    )
    job = make.job(
        hosts=[_ssh_host(make, ssh_server)], credential=stranger, module="ping"
    )

    run = runs.launch(job)
    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.FAILED
    assert run.stats["sshhost"]["unreachable"] == 1
    assert "Permission denied" in _log(run)


def test_no_key_file_outlives_the_run(app, make, run_worker, ssh_server):
    job = make.job(
        hosts=[_ssh_host(make, ssh_server)],
        credential=_key_credential(make, ssh_server),
        module="ping",
    )

    run = runs.launch(job)
    run_worker()
    db.session.refresh(run)

    assert run.status == RunStatus.SUCCESSFUL, _log(run)
    data_dir = app.config["PLAYDECK"].data_dir
    assert not list(data_dir.iterdir()), "the scratch folder is removed"
    key_body = ssh_server.private_key.splitlines()[1]
    assert key_body not in _log(run)
