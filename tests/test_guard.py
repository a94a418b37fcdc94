"""The command guard, launched for real: rules deny, warn and allow what jobs
would execute, in order, per role, on the pages, in the API and on schedules;
disguised commands are caught; the built-in check keeps jobs off the Playdeck
machine; and the worker checks again before ansible starts."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditAction,
    AuditEntry,
    BuiltinCheck,
    Event,
    FiringOutcome,
    GuardRule,
    Run,
    RunStatus,
    Schedule,
)
from app.services import ServiceError, scheduler
from app.services import guard as guard_service
from app.services import jobs as job_service
from app.services import runs as run_service

from helpers import Api, csrf_token, login

pytestmark = pytest.mark.all_databases


def _deny(pattern: str = "rm -rf", **fields) -> GuardRule:
    return guard_service.create_rule(pattern=pattern, action="deny", **fields)


def _refusal(job, **launch) -> ServiceError:
    """Launch `job`, which the guard must refuse; no run is made."""
    before = db.session.scalar(select(db.func.count(Run.id)))
    with pytest.raises(ServiceError) as refused:
        run_service.launch(job, **launch)
    assert db.session.scalar(select(db.func.count(Run.id))) == before
    return refused.value


def _log(run) -> str:
    events = db.session.scalars(
        select(Event).where(Event.run_id == run.id).order_by(Event.seq)
    )
    return "\n".join(event.stdout for event in events if event.stdout)


def _audit(action: AuditAction) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
    )


# Disguised commands: each evasion is refused, and would really have run.

EVASIONS = [
    'r""m -rf {dir}',
    "r''m -rf {dir}",
    "rm  -rf {dir}",
    "rm\t-rf {dir}",
    r"r\m -rf {dir}",
    "RM -RF {dir}",
    "'rm' \"-rf\" {dir}",
    "rm${{IFS}}-rf {dir}",
    "/bin/rm -rf {dir}",
    "true && rm -rf {dir}",
    "ｒｍ -rf {dir}",  # full-width letters, as NFKC reads them
]


def test_a_disguised_command_really_runs_when_no_rule_stops_it(
    make, run_worker, tmp_path
):
    victim = tmp_path / "victim"
    victim.mkdir()
    job = make.job(module="shell", args=f'r""m -rf {victim}')

    run = run_service.launch(job)
    run_worker()

    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert not victim.exists()


@pytest.mark.parametrize("command", EVASIONS)
def test_a_disguised_command_is_refused(make, run_worker, tmp_path, command):
    victim = tmp_path / "victim"
    victim.mkdir()
    rule = _deny()
    job = make.job(module="shell", args=command.format(dir=victim))

    refused = _refusal(job)
    run_worker()

    assert refused.message.startswith(f"Refused by guard rule {rule.position} ")
    assert "deny “rm -rf”" in refused.message
    assert "the arguments" in refused.fields["args"]
    assert victim.exists()


@pytest.mark.parametrize(
    "command",
    ["echo charm -rfx", "echo firm -rf", "ls -rf", "echo rm"],
)
def test_plain_words_match_whole_words_only(make, command):
    _deny()
    job = make.job(module="shell", args=command)

    assert run_service.launch(job).status == RunStatus.QUEUED


def test_a_regular_expression_catches_what_words_do_not(make):
    guard_service.create_rule(
        pattern=r"\brm\s+(-\w+\s+)*-\w*[rR]", action="deny", regex=True
    )

    refused = _refusal(make.job(module="shell", args="rm -v -r /tmp/x"))

    assert "guard rule 1" in refused.message
    assert run_service.launch(make.job(module="shell", args="rm -v x")).id


# Every command-like task of a playbook, wherever it is.


def _play(tasks: str, **sections: str) -> str:
    extra = "".join(f"  {key}:\n{value}" for key, value in sections.items())
    return f"- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}{extra}"


DEBUG = "    - ansible.builtin.debug: msg=hi\n"
PROJECTS = {
    "free-form shell": (
        {"site.yml": _play("    - name: clean\n      shell: rm -rf /tmp/x\n")},
        "site.yml, play 1, task “clean”",
    ),
    "FQCN command with cmd": (
        {
            "site.yml": _play(
                "    - ansible.builtin.command:\n        cmd: rm -rf /tmp/x\n"
            )
        },
        "site.yml, play 1, task 1",
    ),
    "argv": (
        {
            "site.yml": _play(
                "    - ansible.legacy.command:\n        argv: [rm, -rf, /tmp/x]\n"
            )
        },
        "task 1",
    ),
    "raw": ({"site.yml": _play("    - raw: rm -rf /tmp/x\n")}, "task 1"),
    "args beside the module": (
        {
            "site.yml": _play(
                "    - ansible.builtin.shell:\n      args:\n        cmd: rm -rf /x\n"
            )
        },
        "task 1",
    ),
    "stdin": (
        {
            "site.yml": _play(
                "    - command:\n        cmd: bash\n        stdin: rm -rf /tmp/x\n"
            )
        },
        "task 1",
    ),
    "action": (
        {"site.yml": _play("    - action: ansible.builtin.shell rm -rf /tmp/x\n")},
        "task 1",
    ),
    "action with a module key": (
        {
            "site.yml": _play(
                "    - action:\n        module: shell\n        cmd: rm -rf /tmp/x\n"
            )
        },
        "task 1",
    ),
    "rescue of a block": (
        {
            "site.yml": _play(
                "    - name: try\n      block:\n        - ping:\n"
                "      rescue:\n        - name: undo\n          shell: rm -rf /tmp/x\n"
            )
        },
        "task “try”, task “undo”",
    ),
    "handler": (
        {
            "site.yml": _play(
                DEBUG,
                handlers="    - name: wipe\n      shell: rm -rf /tmp/x\n",
            )
        },
        "handler “wipe”",
    ),
    "pre_tasks": (
        {"site.yml": _play(DEBUG, pre_tasks="    - shell: rm -rf /tmp/x\n")},
        "site.yml, play 1, task 1",
    ),
    "included file": (
        {
            "site.yml": _play("    - include_tasks: tasks/clean.yml\n"),
            "tasks/clean.yml": "- name: wipe\n  shell: rm -rf /tmp/x\n",
        },
        "tasks/clean.yml, task “wipe”",
    ),
    "included file of any name": (
        {
            "site.yml": _play("    - include_tasks: clean.txt\n"),
            "clean.txt": "- shell: rm -rf /tmp/x\n",
        },
        "clean.txt, task 1",
    ),
    "role": (
        {
            "site.yml": "- hosts: all\n  roles: [cleanup]\n",
            "roles/cleanup/tasks/main.yml": "- shell: rm -rf /tmp/x\n",
        },
        "roles/cleanup/tasks/main.yml, task 1",
    ),
    "imported playbook": (
        {
            "site.yml": "- import_playbook: other.yml\n",
            "other.yml": _play("    - shell: rm -rf /tmp/x\n"),
        },
        "other.yml, play 1",
    ),
    "loop item": (
        {
            "site.yml": _play(
                '    - shell: "{{ item }}"\n      loop: [uptime, rm -rf /tmp/x]\n'
            )
        },
        "task 1",
    ),
    "extra variable": (
        {"site.yml": _play('    - shell: "{{ cleanup }}"\n')},
        "task 1",
    ),
    "script in the project": (
        {
            "site.yml": _play("    - script: clean.sh\n"),
            "files/clean.sh": "#!/bin/sh\nrm -rf /tmp/x\n",
        },
        "files/clean.sh, the script",
    ),
    "unsafe tag": (
        {"site.yml": _play('    - shell: !unsafe "rm -rf /tmp/x"\n')},
        "task 1",
    ),
}


@pytest.mark.parametrize("files, where", PROJECTS.values(), ids=list(PROJECTS))
def test_every_command_task_of_a_playbook_is_checked(make, files, where):
    _deny()
    job = make.job(
        playbook=make.playbook(files=files),
        extra_vars={"cleanup": "rm -rf /tmp/x"},
    )

    refused = _refusal(job)

    assert where in refused.message
    assert "rm -rf" in refused.fields["playbook"]


def test_other_tasks_of_a_playbook_pass(make, run_worker):
    _deny("hello")
    job = make.job(playbook=make.playbook())  # debug: msg=hello from ...

    run = run_service.launch(job)
    run_worker()

    assert run.status == RunStatus.SUCCESSFUL, run.error


# Order, first match, roles.


def test_the_first_matching_rule_wins(make, run_worker, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    allow = guard_service.create_rule(pattern=f"rm -rf {scratch}", action="allow")
    deny = _deny()
    guard_service.create_rule(pattern="rm", action="warn")

    run = run_service.launch(make.job(module="shell", args=f"rm -rf {scratch}"))
    refused = _refusal(make.job(module="shell", args="rm -rf /etc/playdeck-nothing"))
    run_worker()

    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert not scratch.exists()
    # allow stopped the search: the later warn rule did not mark the run.
    assert run.guard_warnings == []
    assert "guard rule 2 (deny “rm -rf”)" in refused.message

    guard_service.move_rule(deny, 1)
    assert [rule.pattern for rule in guard_service.rules()] == [
        "rm -rf",
        allow.pattern,
        "rm",
    ]
    scratch.mkdir()
    refused = _refusal(make.job(module="shell", args=f"rm -rf {scratch}"))
    assert "guard rule 1 (deny “rm -rf”)" in refused.message
    assert scratch.exists()


def test_a_rule_for_a_role_applies_to_that_role_only(app, make):
    _deny("reboot", role="operator", reason="Ask the on-call admin.")
    job = make.job(module="command", args="/sbin/reboot now")

    operator = app.test_client()
    login(operator, "operator")
    response = operator.post(
        f"/jobs/{job.id}/launch", data={"csrf_token": csrf_token(operator)}
    )
    page = operator.get(response.headers["Location"]).get_data(as_text=True)

    assert response.headers["Location"] == f"/jobs/{job.id}"
    assert "Refused by guard rule 1 (deny “reboot” for operators)" in page
    assert "Ask the on-call admin." in page
    assert db.session.scalars(select(Run)).all() == []

    admin = app.test_client()
    login(admin, "admin")
    response = admin.post(
        f"/jobs/{job.id}/launch", data={"csrf_token": csrf_token(admin)}
    )
    run = db.session.scalars(select(Run)).one()
    assert response.headers["Location"] == f"/runs/{run.id}"


def test_a_scheduled_run_is_checked_as_an_operators(make):
    _deny("reboot", role="operator")
    job = make.job(module="command", args="reboot")
    saved = datetime(2026, 1, 5, 10, 3)
    schedule = Schedule(job=job, kind="cron", cron="*/10 * * * *", effective_from=saved)
    db.session.add(schedule)
    db.session.commit()

    firing = scheduler.fire(schedule, saved + timedelta(minutes=7))

    assert firing.outcome == FiringOutcome.REFUSED
    assert firing.note.startswith("Refused by guard rule 1 (deny “reboot”")
    assert db.session.scalars(select(Run)).all() == []
    [entry] = _audit(AuditAction.GUARD_DENY)
    assert entry.object_type == "job" and entry.object_id == job.id
    assert entry.via == "system"


# deny on every way in, and in the audit trail.


def test_deny_shows_on_the_quick_command_form(client, make):
    _deny()
    host = make.host()

    response = client.post(
        "/quick/new",
        data={
            "csrf_token": csrf_token(client),
            "module": "shell",
            "args": "rm -rf /srv",
            "hosts": [str(host.id)],
            "credential": "",
        },
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="error" role="alert">Refused by guard rule 1' in page
    assert db.session.scalars(select(Run)).all() == []


def test_deny_in_the_api_is_a_422_naming_the_rule(app, make):
    _deny()
    job = make.job(module="shell", args="rm -rf /srv")
    api = Api(app, "operator")

    response = api.post(f"/jobs/{job.id}/launch")

    body = response.get_json()
    assert response.status_code == 422
    assert body["message"].startswith("Refused by guard rule 1 (deny “rm -rf”)")
    assert set(body["fields"]) == {"args"}
    [entry] = _audit(AuditAction.GUARD_DENY)
    assert entry.via == "api" and entry.username == api.user.username
    assert entry.changes["pattern"] == "rm -rf"
    assert entry.changes["command"] == "rm -rf /srv"


def test_launch_variables_cannot_smuggle_a_command_in(app, make):
    _deny()
    job = make.job(module="shell", args="{{ what }}")
    api = Api(app, "operator")

    response = api.post(
        f"/jobs/{job.id}/launch", {"extra_vars": {"what": "rm -rf /srv"}}
    )

    assert response.status_code == 422
    assert "rm -rf /srv" in response.get_json()["message"]


# warn: the run goes, marked.


def test_warn_runs_and_marks_the_run_everywhere(app, client, make, run_worker):
    rule = guard_service.create_rule(pattern="echo", action="warn")
    job = make.job("greet", module="shell", args="echo warned-but-ran")

    run = run_service.launch(job)
    run_worker()

    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert "warned-but-ran" in _log(run)
    assert run.guard_warnings == [
        {
            "rule": rule.id,
            "pattern": "echo",
            "where": "the arguments",
            "command": "echo warned-but-ran",
        }
    ]
    listed = client.get("/runs/").get_data(as_text=True)
    assert 'data-guard-warned="1"' in listed
    shown = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "data-guard-warnings" in shown
    assert "<code>echo warned-but-ran</code> matched <code>echo</code>" in shown
    assert (
        Api(app, "viewer").get(f"/runs/{run.id}").get_json()["guard_warnings"]
        == run.guard_warnings
    )
    [entry] = _audit(AuditAction.GUARD_WARN)
    assert (entry.object_type, entry.object_id) == ("run", run.id)
    assert "warned by guard rule 1 (warn “echo”)" in entry.summary


# The worker checks again before ansible starts.


def test_a_command_denied_after_the_launch_never_starts(make, run_worker, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    playbook = make.playbook(files={"site.yml": _play(DEBUG)})
    run = run_service.launch(make.job(playbook=playbook))
    # While the run waits in the queue, the playbook grows a command and a
    # rule appears.
    playbook.files[0].content = _play(f"    - shell: rm -rf {victim}\n")
    db.session.commit()
    _deny()

    run_worker()

    assert run.status == RunStatus.ERROR
    assert run.error.startswith("Refused by guard rule 1 (deny “rm -rf”)")
    assert "Refused by guard rule 1" in _log(run)
    assert victim.exists()
    [entry] = _audit(AuditAction.GUARD_DENY)
    assert (entry.object_type, entry.object_id) == ("run", run.id)
    assert "as it started" in entry.summary


def test_a_warning_found_as_the_run_starts_marks_it(make, run_worker):
    job = make.job(module="shell", args="echo hi")
    run = run_service.launch(job)
    guard_service.create_rule(pattern="echo", action="warn")

    run_worker()

    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert [warning["pattern"] for warning in run.guard_warnings] == ["echo"]
    assert len(_audit(AuditAction.GUARD_WARN)) == 1


# The built-in check: hands off the Playdeck machine.

LOCAL_PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: on the Playdeck machine
      ansible.builtin.debug:
        msg: "I run on {{ inventory_hostname }}"
"""
REACHING = {
    "hosts 127.0.0.1": LOCAL_PLAY.replace("localhost", "127.0.0.1", 1),
    "hosts in a list": LOCAL_PLAY.replace("localhost", "[web, localhost]", 1),
    "delegate_to": _play("    - shell: uptime\n      delegate_to: localhost\n"),
    "delegate_to 127.0.0.1": _play("    - ping:\n      delegate_to: 127.0.0.1\n"),
    "local_action": _play("    - local_action: command uptime\n"),
    "connection local": _play(DEBUG).replace(
        "  gather", "  connection: local\n  gather"
    ),
    "ansible_connection in vars": _play(
        "    - ping:\n      vars:\n        ansible_connection: local\n"
    ),
    "set_fact": _play("    - set_fact:\n        ansible_connection: local\n"),
    # The same, spelled otherwise.
    "connection by its full name": _play(DEBUG).replace(
        "  gather", "  connection: ansible.builtin.local\n  gather"
    ),
    "ansible_connection by its full name": _play(
        "    - ping:\n      vars:\n        ansible_connection: ansible.legacy.local\n"
    ),
    "set_fact as key=value": _play("    - set_fact: ansible_connection=local\n"),
    "add_host": _play(
        "    - add_host:\n        name: there\n        ansible_connection: local\n"
    ),
    "add_host as key=value": _play(
        "    - add_host: name=there ansible_connection='local'\n"
    ),
}


def _ssh_host(make):
    return make.host("web", connection="ssh", address="192.0.2.10")


@pytest.mark.parametrize("text", REACHING.values(), ids=list(REACHING))
def test_a_playbook_reaching_the_playdeck_machine_is_refused(make, text):
    job = make.job(
        hosts=[_ssh_host(make)], playbook=make.playbook(files={"site.yml": text})
    )

    refused = _refusal(job)

    assert refused.message.startswith(
        "Refused by the built-in check “Playdeck's own machine”: site.yml, play 1"
    )
    assert "local-connection host" in refused.fields["playbook"]


@pytest.mark.parametrize(
    "connection", ["local", "ansible.builtin.local", "ansible.legacy.local", "LOCAL "]
)
def test_extra_variables_pointing_at_this_machine_are_refused(app, make, connection):
    job = make.job(hosts=[_ssh_host(make)], module="ping")

    refused = _refusal(job, extra_vars={"ansible_connection": connection})

    assert "the extra variables has ansible_connection: local" in refused.message
    assert set(refused.fields) == {"extra_vars"}


def test_the_local_connection_by_its_full_name_really_acts_here(make, run_worker):
    guard_service.set_check(BuiltinCheck.LOCAL_TARGET, False)
    job = make.job(hosts=[_ssh_host(make)], module="raw", args="hostname")

    run = run_service.launch(
        job, extra_vars={"ansible_connection": "ansible.builtin.local"}
    )
    run_worker()

    # 192.0.2.10 answers nobody: the command ran on this machine.
    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert socket.gethostname() in _log(run)


def test_a_job_of_local_connection_hosts_may_run_on_this_machine(make, run_worker):
    job = make.job(playbook=make.playbook(files={"site.yml": LOCAL_PLAY}))

    run = run_service.launch(job)
    run_worker()

    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert "I run on localhost" in _log(run)


def test_an_admin_may_turn_the_check_off(client, make, run_worker):
    job = make.job(
        hosts=[_ssh_host(make)],
        playbook=make.playbook(files={"site.yml": LOCAL_PLAY}),
    )
    _refusal(job)

    response = client.post(
        "/guard/checks/local_target",
        data={"csrf_token": csrf_token(client), "enabled": "off"},
    )
    page = client.get("/guard/").get_data(as_text=True)
    run = run_service.launch(job)
    run_worker()

    assert response.status_code == 302
    assert 'data-check="local_target" data-enabled="off"' in page
    # Off, the playbook really reaches this machine, by Ansible's own localhost.
    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert "I run on localhost" in _log(run)
    [entry] = [e for e in _audit(AuditAction.UPDATE) if e.object_type == "guard_check"]
    assert "turned off" in entry.summary

    client.post(
        "/guard/checks/local_target",
        data={"csrf_token": csrf_token(client), "enabled": "on"},
    )
    _refusal(job)


# The rules' pages, their API, and the trail of their changes.


def _rule_form(client, **fields):
    data = {
        "csrf_token": csrf_token(client),
        "pattern": "rm -rf",
        "kind": "words",
        "action": "deny",
        "role": "",
        "position": "",
        "reason": "",
    }
    return data | fields


def test_admins_keep_rules_on_the_guard_page(client):
    added = client.post("/guard/rules/new", data=_rule_form(client))
    client.post(
        "/guard/rules/new",
        data=_rule_form(client, pattern="shutdown", action="warn", role="operator"),
    )
    [first, second] = guard_service.rules()
    page = client.get("/guard/").get_data(as_text=True)

    assert added.status_code == 302
    assert page.index("<code>rm -rf</code>") < page.index("<code>shutdown</code>")
    assert "operators" in page

    client.post(
        f"/guard/rules/{second.id}/move",
        data={"csrf_token": csrf_token(client), "direction": "up"},
    )
    assert [rule.pattern for rule in guard_service.rules()] == ["shutdown", "rm -rf"]

    edited = client.post(
        f"/guard/rules/{first.id}/edit",
        data=_rule_form(client, pattern=r"rm\s+-rf", kind="regex", position="1"),
    )
    assert edited.status_code == 302
    assert [(r.pattern, r.regex) for r in guard_service.rules()] == [
        (r"rm\s+-rf", True),
        ("shutdown", False),
    ]

    client.post(
        f"/guard/rules/{first.id}/delete", data={"csrf_token": csrf_token(client)}
    )
    assert [(r.pattern, r.position) for r in guard_service.rules()] == [("shutdown", 1)]
    trail = [
        (e.action, e.object_type)
        for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "guard_rule")
        )
    ]
    assert trail == [
        ("create", "guard_rule"),
        ("create", "guard_rule"),
        ("update", "guard_rule"),
        ("update", "guard_rule"),
        ("delete", "guard_rule"),
    ]


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"pattern": "rm (", "kind": "regex"}, "pattern", "Not a valid regular"),
        ({"pattern": "  "}, "pattern", "Give the words"),
        ({"pattern": '""'}, "pattern", "nothing once quotes"),
        ({"action": "maybe"}, "action", "Choose deny, warn or allow."),
        ({"role": "root"}, "role", "Choose a role, or everyone."),
        ({"position": "0"}, "position", "A position is a whole number"),
    ],
)
def test_a_bad_rule_is_a_field_error(client, fields, field, message):
    response = client.post("/guard/rules/new", data=_rule_form(client, **fields))

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert guard_service.rules() == []


def test_non_admins_neither_see_nor_change_rules(app, make):
    guard_service.create_rule(pattern="rm", action="deny")
    operator = app.test_client()
    login(operator, "operator")

    assert operator.get("/guard/").status_code == 403
    assert "/guard/" not in operator.get("/runs/").get_data(as_text=True)
    assert Api(app, "operator").get("/guard-rules").status_code == 403


def test_rules_through_the_api(app):
    api = Api(app, "admin")

    first = api.post("/guard-rules", {"pattern": "rm -rf", "action": "deny"})
    second = api.post(
        "/guard-rules",
        {
            "pattern": r"shut\s*down",
            "regex": True,
            "action": "warn",
            "role": "operator",
            "position": 1,
        },
    )
    bad = api.post("/guard-rules", {"pattern": "(", "regex": True, "action": "deny"})
    listed = api.get("/guard-rules").get_json()["items"]

    assert first.status_code == second.status_code == 201
    assert second.headers["Location"] == f"/api/v1/guard-rules/{second.json['id']}"
    assert [(r["position"], r["pattern"], r["role"]) for r in listed] == [
        (1, r"shut\s*down", "operator"),
        (2, "rm -rf", "everyone"),
    ]
    assert bad.status_code == 422
    assert bad.get_json()["fields"]["pattern"].startswith("Not a valid regular")

    moved = api.patch(f"/guard-rules/{first.json['id']}", {"position": 1})
    renamed = api.patch(f"/guard-rules/{second.json['id']}", {"reason": "why not"})
    assert moved.get_json()["position"] == 1
    assert renamed.get_json() | {"id": 0} == {
        "id": 0,
        "position": 2,
        "pattern": r"shut\s*down",
        "regex": True,
        "action": "warn",
        "role": "operator",
        "reason": "why not",
    }

    assert api.delete(f"/guard-rules/{first.json['id']}").status_code == 204
    assert api.get(f"/guard-rules/{first.json['id']}").status_code == 404
    assert api.get("/guard-checks").get_json() == {"local_target": True}
    assert api.patch("/guard-checks", {"local_target": False}).get_json() == {
        "local_target": False
    }


def test_the_quick_job_of_a_denied_command_is_not_kept(make):
    _deny()
    host = make.host()

    with pytest.raises(ServiceError):
        job_service.run_quick_command(
            module="shell", args="rm -rf /srv", host_ids=[host.id]
        )

    assert job_service.recent_quick_runs() == []
