"""Run options: set on a job or asked at launch, each one reaches ansible's
command line, for playbooks and ad-hoc commands alike: what ansible did says so."""

from __future__ import annotations

import os
import pwd
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Job, Run, RunStatus
from app.services import jobs as job_service
from app.services import runs as run_service

from helpers import Api, api_error, csrf_token, run_log

pytestmark = pytest.mark.all_databases

TELLS = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: what ansible was told
      ansible.builtin.debug:
        msg: >-
          check={{ ansible_check_mode }} diff={{ ansible_diff_mode }}
          verbosity={{ ansible_verbosity }} forks={{ ansible_forks }}
      tags: [always]
    - name: tagged one
      ansible.builtin.debug: msg=ran-one
      tags: [one]
    - name: tagged two
      ansible.builtin.debug: msg=ran-two
      tags: [two]
"""


def _ran(run_worker, run: Run) -> str:
    run_worker()
    db.session.refresh(run)
    assert run.state.terminal
    return run_log(run)


def _tells(make, **options) -> Job:
    return make.job(playbook=make.playbook(files={"site.yml": TELLS}), **options)


def test_defaults_change_nothing(make, run_worker):
    run = run_service.launch(_tells(make))

    log = _ran(run_worker, run)

    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert "check=False diff=False verbosity=0 forks=5" in log
    assert "ran-one" in log and "ran-two" in log


def test_check_diff_verbosity_forks_and_tags_reach_ansible(make, run_worker):
    job = _tells(
        make, check_mode=True, diff_mode=True, verbosity=2, forks=3, tags="one"
    )

    run = run_service.launch(job)
    log = _ran(run_worker, run)

    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert "check=True diff=True verbosity=2 forks=3" in log
    assert "ran-one" in log
    assert "ran-two" not in log, "--tags one skips the task tagged two"
    assert run.options == {
        "tags": "one",
        "skip_tags": "",
        "check_mode": True,
        "diff_mode": True,
        "verbosity": 2,
        "forks": 3,
        "become": False,
        "become_user": "",
        "become_method": "",
        "remote_user": "",
    }


def test_skip_tags_and_the_job_s_limit_reach_ansible(make, run_worker):
    inside, outside = make.host("inside"), make.host("outside")
    job = _tells(make, skip_tags="one,  two ", limit="inside")
    job.hosts = [inside, outside]
    db.session.commit()

    run = run_service.launch(job)
    log = _ran(run_worker, run)

    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert "ran-one" not in log and "ran-two" not in log
    assert set(run.stats) == {"inside"}
    assert run.limit == "inside"


def test_more_verbosity_prints_more(make, run_worker):
    quiet = run_service.launch(make.job(module="ping", verbosity=0))
    loud = run_service.launch(make.job(module="ping", verbosity=4))
    run_worker()

    for run in (quiet, loud):
        db.session.refresh(run)
        assert run.status == RunStatus.SUCCESSFUL, run.error
    # -vvvv shows how ansible reaches the host and what it executes there.
    assert "ESTABLISH LOCAL CONNECTION FOR USER" in run_log(loud)
    assert "ESTABLISH LOCAL CONNECTION" not in run_log(quiet)
    assert len(run_log(loud)) > 2 * len(run_log(quiet))


def test_the_remote_user_is_whom_ansible_connects_as(make, run_worker):
    # Nothing listens on port 9: ansible says whom it tries, then fails to reach.
    closed = make.host(
        "closed", connection="ssh", port=9, vars={"ansible_ssh_timeout": 5}
    )
    job = make.job(hosts=[closed], module="ping", remote_user="deployer", verbosity=3)

    run = run_service.launch(job)
    log = _ran(run_worker, run)

    assert "ESTABLISH SSH CONNECTION FOR USER: deployer" in log
    assert run.stats["closed"]["unreachable"] == 1


def _someone_else() -> pwd.struct_passwd | None:
    """A user with a login shell, other than the one running the tests."""
    shells = {
        line.strip()
        for line in Path("/etc/shells").read_text().splitlines()
        if line.startswith("/")
    }
    for user in pwd.getpwall():
        if user.pw_uid != os.getuid() and user.pw_uid != 0 and user.pw_shell in shells:
            return user
    return None


SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")


@pytest.mark.skipif(
    os.getuid() != 0 or _someone_else() is None or SYSTEM_PYTHON is None,
    reason="su to another user without a password needs root, a user with a "
    "shell and a Python that user may run",
)
@pytest.mark.parametrize("kind", ["adhoc", "playbook"])
def test_become_runs_as_the_become_user(make, run_worker, kind):
    other = _someone_else().pw_name
    # The tests' Python lives under a folder other users may not enter; module
    # files go to /tmp (and are removed), not to a .ansible in that user's home.
    host = make.host(
        vars={"ansible_python_interpreter": SYSTEM_PYTHON, "ansible_remote_tmp": "/tmp"}
    )
    options = {"become": True, "become_user": other, "become_method": "su"}
    if kind == "adhoc":
        job = make.job(hosts=[host], module="command", args="whoami", **options)
    else:
        playbook = make.playbook(
            files={
                "site.yml": "- hosts: all\n  gather_facts: false\n  tasks:\n"
                "    - ansible.builtin.command: whoami\n"
                "      register: who\n"
                "    - ansible.builtin.debug: msg=whoami={{ who.stdout }}\n"
            }
        )
        job = make.job(hosts=[host], playbook=playbook, **options)

    run = run_service.launch(job)
    log = _ran(run_worker, run)

    assert run.status == RunStatus.SUCCESSFUL, log
    assert (f"whoami={other}" if kind == "playbook" else f"\n{other}") in log


def test_become_is_tried_with_the_method_and_user_given(make, run_worker):
    """Wherever this runs: su to `nobody`, whose shell refuses logins (or who
    needs a password nobody gave), fails to become; without become the same
    command succeeds."""
    options = {"become_user": "nobody", "become_method": "su"}
    plain = run_service.launch(make.job(module="command", args="true", **options))
    become = run_service.launch(
        make.job(module="command", args="true", become=True, **options)
    )
    run_worker()

    db.session.refresh(plain)
    db.session.refresh(become)
    assert plain.status == RunStatus.SUCCESSFUL, plain.error
    log = run_log(become)
    assert become.status == RunStatus.FAILED, log
    assert any(
        words in log
        for words in ("become success", "privilege escalation", "become password")
    ), log


def test_an_adhoc_command_in_check_mode_changes_nothing(make, run_worker, tmp_path):
    target = tmp_path / "made-by-ansible"
    job = make.job(module="file", args=f"path={target} state=touch", check_mode=True)

    run = run_service.launch(job)
    log = _ran(run_worker, run)

    assert run.status == RunStatus.SUCCESSFUL, log
    assert "CHANGED" in log
    assert not target.exists()


# Asked at launch.


def test_options_asked_at_launch_are_on_the_form_and_reach_ansible(
    client, make, run_worker
):
    job = _tells(make, ask_at_launch=["check_mode", "tags", "verbosity"])

    page = client.get(f"/jobs/{job.id}/launch").get_data(as_text=True)
    assert 'name="check_mode"' in page and 'name="tags"' in page
    assert 'name="verbosity"' in page
    assert 'name="become"' not in page, "not asked"

    response = client.post(
        f"/jobs/{job.id}/launch",
        data={
            "csrf_token": csrf_token(client),
            "check_mode": "y",
            "tags": "two",
            "verbosity": "1",
        },
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    run = db.session.scalar(select(Run))
    log = _ran(run_worker, run)
    assert "check=True diff=False verbosity=1 forks=5" in log
    assert "ran-two" in log and "ran-one" not in log
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert 'data-input="option-Check mode"><code>yes</code>' in page
    assert "data-check-mode" in page


def test_the_api_launch_takes_asked_options_and_refuses_the_others(
    app, make, run_worker
):
    api = Api(app, "operator")
    job = _tells(make, ask_at_launch=["diff_mode", "forks"])

    refused = api.post(f"/jobs/{job.id}/launch", {"check_mode": True, "forks": 2})
    assert api_error(refused, 422)["fields"] == {
        "check_mode": "This job does not ask for check mode at launch: change it "
        "on the job, or have the job ask for it."
    }
    refused = api.post(f"/jobs/{job.id}/launch", {"forks": 0})
    assert api_error(refused, 422)["fields"] == {"forks": "Must be from 1 to 200."}
    assert db.session.scalar(select(Run)) is None

    launched = api.post(f"/jobs/{job.id}/launch", {"diff_mode": True, "forks": 2})
    assert launched.status_code == 202, launched.get_json()
    assert launched.get_json()["options"]["forks"] == 2
    run = db.session.get(Run, launched.get_json()["id"])
    assert "check=False diff=True verbosity=0 forks=2" in _ran(run_worker, run)


def test_the_api_reads_and_writes_a_job_s_options(app, make):
    api = Api(app, "operator")
    job = make.job(playbook=make.playbook())

    patched = api.patch(
        f"/jobs/{job.id}",
        {"tags": "web, db", "verbosity": 3, "ask_at_launch": ["limit", "tags"]},
    )

    assert patched.status_code == 200, patched.get_json()
    body = patched.get_json()
    assert (body["tags"], body["verbosity"]) == ("web,db", 3)
    assert body["ask_at_launch"] == ["limit", "tags"]
    refused = api.patch(f"/jobs/{job.id}", {"skip_tags": "not a tag!"})
    assert "Tag names" in api_error(refused, 422)["fields"]["skip_tags"]


# The job form's options and their checks.


def _form(token: str, host_id: int, **changes) -> dict:
    data = {
        "csrf_token": token,
        "name": "opts",
        "kind": "playbook",
        "hosts": [str(host_id)],
        "forks": "5",
        "verbosity": "0",
    }
    data.update(changes)
    return data


def test_the_job_form_saves_options_and_what_to_ask(client, make):
    host, playbook = make.host(), make.playbook()

    response = client.post(
        "/jobs/new",
        data=_form(
            csrf_token(client),
            host.id,
            playbook=str(playbook.id),
            limit="web*",
            tags="deploy, config",
            check_mode="y",
            verbosity="2",
            become="y",
            become_user="postgres",
            become_method="su",
            remote_user="deploy",
            ask_at_launch=["limit", "check_mode"],
        ),
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    job = db.session.scalar(select(Job))
    assert (job.limit, job.tags, job.check_mode, job.verbosity) == (
        "web*",
        "deploy,config",
        True,
        2,
    )
    assert (job.become, job.become_user, job.become_method, job.remote_user) == (
        True,
        "postgres",
        "su",
        "deploy",
    )
    assert job.ask_at_launch == ["limit", "check_mode"]
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Limit, Check mode" in page
    edit = client.get(f"/jobs/{job.id}/edit").get_data(as_text=True)
    ticked = re.findall(r'name="ask_at_launch" value="(\w+)"[^>]*? checked>', edit)
    assert ticked == ["limit", "check_mode"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"verbosity": "7"}, "verbosity", "Verbosity must be between 0 and 4."),
        ({"become_method": "doas"}, "become_method", "Choose sudo or su"),
        ({"become_user": "bad user"}, "become_user", "A user name"),
        ({"remote_user": "x" * 65}, "remote_user", "at most 64"),
        ({"tags": "ok, no spaces inside"}, "tags", "Tag names"),
        ({"limit": "@/etc/passwd"}, "limit", "Ansible host pattern"),
        ({"ask_at_launch": ["colour"]}, "ask_at_launch", "Not an option: colour."),
    ],
)
def test_bad_options_are_refused_with_a_message(client, make, changes, field, message):
    host, playbook = make.host(), make.playbook()

    response = client.post(
        "/jobs/new",
        data=_form(csrf_token(client), host.id, playbook=str(playbook.id), **changes),
    )

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(Job)) is None


def test_an_adhoc_job_keeps_no_tags_as_its_form_hides_them(client, make):
    """Switched from playbook to ad hoc, the job drops the tags it had, as it
    drops its playbook: `ansible` has no tasks to select."""
    host = make.host()
    job = job_service.create_job(
        name="x",
        kind="playbook",
        playbook_id=make.playbook().id,
        host_ids=[host.id],
        options={"tags": "web", "skip_tags": "db"},
        ask_at_launch=["tags", "check_mode"],
    )

    response = client.post(
        f"/jobs/{job.id}/edit",
        data=_form(
            csrf_token(client),
            host.id,
            name="x",
            kind="adhoc",
            module="ping",
            tags="web",
            skip_tags="db",
            ask_at_launch=["tags", "check_mode"],
        ),
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(job)
    assert (job.tags, job.skip_tags, job.ask_at_launch) == ("", "", ["check_mode"])
