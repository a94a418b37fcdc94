"""An attacker's view of Playdeck: secrets that must not leak out of a run,
sessions that must end, inputs that must not reach further than they should.

Each test here is about a way in that was found open and is now closed, or
about a defence whose regression would go unnoticed elsewhere.
"""

from __future__ import annotations

import os
import signal
import sys
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from playwright.sync_api import expect

from app import audit
from app.auth import throttle
from app.extensions import db
from app.models import AuditAction, AuditEntry, Event, GuardRule, Run, RunStatus
from app.runner.sink import MASK, EventSink
from app.runner.spec import run_marker
from app.services import runs

from helpers import Api, browser_login, csrf_token, login
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
    # A launcher's mark stays: its last sweep at stop finds ansible by it.
    monkeypatch.setenv("PLAYDECK_LAUNCHER_MARKER", "launcher-7")
    job = make.job(module="shell", args="env")  # on a local-connection host

    run = runs.launch(job)
    run_worker()

    log = _log(run)
    assert "PATH=" in log, "the command printed its environment"
    assert "the-key-that-signs-sessions" not in log
    assert "db-password" not in log
    assert "PLAYDECK_SECRET_KEY" not in log
    assert "PLAYDECK_DATABASE_URL" not in log
    assert "PLAYDECK_LAUNCHER_MARKER=launcher-7" in log
    assert "PLAYDECK_RUN_MARKER=" in log


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


def test_spoofed_forwarded_addresses_do_not_escape_the_address_lock(anon_client):
    # No proxy is configured (PLAYDECK_PROXY_HOPS=0): X-Forwarded-For is anyone's.
    def attempt(number: int):
        return anon_client.post(
            "/login",
            data={
                "csrf_token": csrf_token(anon_client),
                "username": f"guess{number}",
                "password": "wrong",
            },
            headers={"X-Forwarded-For": f"203.0.113.{number}"},
        )

    for number in range(throttle.ADDRESS_LIMIT):
        attempt(number)
    locked = attempt(throttle.ADDRESS_LIMIT)

    assert locked.status_code == 429
    assert "from your address" in locked.get_data(as_text=True)


# Sessions and roles


def test_a_demoted_user_loses_the_role_in_the_session_already_open(app, make):
    client = app.test_client()
    user = login(client, "admin")
    make.user("another-admin", role="admin")
    assert client.get("/users/").status_code == 200

    user.role = "viewer"
    db.session.commit()

    assert client.get("/users/").status_code == 403
    assert client.get("/hosts/").status_code == 200


def test_a_csrf_token_of_another_session_is_refused(app, make):
    victim, attacker = app.test_client(), app.test_client()
    login(victim, "admin")
    login(attacker, "admin")
    host = make.host("web1")
    stolen = csrf_token(attacker)

    form = victim.post(f"/hosts/{host.id}/delete", data={"csrf_token": stolen})
    htmx = victim.post(
        f"/hosts/{host.id}/delete",
        headers={"HX-Request": "true", "X-CSRFToken": stolen},
    )

    assert form.status_code == htmx.status_code == 400
    assert victim.get(f"/hosts/{host.id}").status_code == 200


# Output escaping: text from users and from ansible, everywhere it shows

# Markup that breaks out of an element or an attribute (either quote); the log
# line gets ANSI colours around it too. No page may hand it back unescaped.
XSS = "\"'><b/data-xss>"


def _hostile_rows(make) -> Run:
    """A row of each kind, with XSS in every text a user or ansible writes."""
    host = make.host(address=XSS, vars={"note": XSS})
    group = make.group(hosts=[host], vars={"note": XSS})
    credential = make.credential(name="cred" + XSS, username=XSS)
    playbook = make.playbook(name="book" + XSS, files={"site.yml": f"# {XSS}\n"})
    job = make.job(
        name="job" + XSS,
        playbook=playbook,
        credential=credential,
        hosts=[host],
        groups=[group],
        extra_vars={"note": XSS},
    )
    db.session.add(
        GuardRule(position=1, pattern=XSS, action="warn", reason=XSS, role=None)
    )
    run = Run(
        job=job,
        status=RunStatus.FAILED,
        summary={"description": XSS, "hosts": [XSS]},
        stats={XSS: {"ok": 1}},
        error=XSS,
        extra_vars={"note": XSS},
        limit=XSS,
        canceled_by=XSS,
        guard_warnings=[{"rule": None, "pattern": XSS, "where": XSS, "command": XSS}],
    )
    db.session.add(run)
    db.session.commit()
    sink = EventSink(run.id, batch_size=10, batch_seconds=0)
    task = {"task": XSS, "task_uuid": "t1"}
    sink.handle({"event": "playbook_on_task_start", "event_data": task})
    sink.handle(
        {
            "event": "runner_on_failed",
            "stdout": f"\x1b[0;31m{XSS}\x1b[0m",
            "event_data": task | {"host": XSS, "res": {"msg": XSS}},
        }
    )
    sink.flush()
    audit.record(AuditAction.UPDATE, job, XSS, changes={"note": XSS})
    return run


def test_no_page_hands_markup_back_unescaped(app, client, make):
    run = _hostile_rows(make)
    job = run.job
    client.post("/account/tokens", data={"csrf_token": csrf_token(client), "name": XSS})
    urls = [
        "/",
        "/runs/",
        f"/runs/{run.id}",
        f"/runs/{run.id}/earlier?before=3",
        "/jobs/",
        f"/jobs/{job.id}",
        f"/jobs/{job.id}/edit",
        "/playbooks/",
        f"/playbooks/{job.playbook.id}",
        f"/playbooks/{job.playbook.id}/edit",
        "/hosts/",
        f"/hosts/{job.hosts[0].id}",
        f"/hosts/{job.hosts[0].id}/edit",
        f"/groups/{job.groups[0].id}",
        f"/groups/{job.groups[0].id}/edit",
        "/credentials/",
        f"/credentials/{job.credential.id}",
        "/guard/",
        "/audit/",
        "/account/tokens",
    ]
    # What a request sends back: a search, a picker's filter, a form's check.
    said = quote(XSS)
    urls += [
        f"/runs/{run.id}/search?q={said}",
        f"/runs/{run.id}/result?host={said}&task=1",
        f"/pickers/hosts?hosts_search={said}&hosts={job.hosts[0].id}",
    ]
    answers = {url: client.get(url) for url in urls}
    htmx = {"HX-Request": "true"}
    for url in (f"/runs/{run.id}/log?after=0", f"/runs/{run.id}/grid"):
        answers[url] = client.get(url, headers=htmx)
    answers["a check"] = client.post(
        f"/validate/vars?field={said}",
        data={XSS: f"{XSS}: [", "csrf_token": csrf_token(client)},
        headers=htmx,
    )
    gone = make.credential(name="gone" + XSS)
    answers["a flash"] = client.post(
        f"/credentials/{gone.id}/delete",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=True,
    )

    for url, response in answers.items():
        body = response.get_data(as_text=True)
        assert response.status_code in (200, 286), url
        assert "&lt;b/data-xss&gt;" in body, f"{url} shows the text, escaped"
        assert "<b/data-xss" not in body, url


# Ansible's own text, live: a task's name, what it prints, a host it adds.
HOSTILE_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: "<img src=x data-xss onerror=window.pwned=1>"
      ansible.builtin.debug:
        msg: "<svg data-xss onload=window.pwned=1>"
    - name: a host named with markup
      ansible.builtin.add_host:
        name: '"><b data-xss>host'
        ansible_connection: local
        ansible_python_interpreter: {python}

- hosts: all
  gather_facts: false
  tasks:
    - name: every host says hello
      ansible.builtin.debug:
        msg: hello
"""


@pytest.mark.slow
def test_hostile_ansible_output_shows_as_text_in_a_live_run_page(
    page, make, worker_process
):
    make.user("vic", role="viewer")
    text = HOSTILE_PLAYBOOK.format(python=sys.executable)
    run = runs.launch(make.job(playbook=make.playbook(files={"site.yml": text})))
    refused, dialogs = [], []
    page.on("console", lambda message: refused.append(message.text))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    browser_login(page, f"/runs/{run.id}", "vic")

    summary = page.locator("#run-summary")
    expect(summary).to_have_attribute("data-status", "successful", timeout=60_000)
    log = page.locator("#log")
    expect(log).to_contain_text("<img src=x data-xss onerror=window.pwned=1>")
    expect(log).to_contain_text("<svg data-xss onload=window.pwned=1>")
    hosts = page.evaluate(
        "[...document.querySelectorAll('#log .line, .host-stats tr[data-host]')]"
        ".map(element => element.dataset.host)"
    )
    assert hosts.count('"><b data-xss>host') == 2, "a log line and a stats row"
    assert page.locator("[data-xss]").count() == 0
    assert page.evaluate("window.pwned") is None
    assert dialogs == []
    assert not [text for text in refused if "Content Security Policy" in text]
