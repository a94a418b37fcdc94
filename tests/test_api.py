"""The JSON API under /api/v1: tokens, the same services as the pages, error
shapes, pages of lists, launching and following runs."""

from __future__ import annotations

import pytest

from app import tasks
from app.extensions import db
from app.models import AuditEntry, Credential, Run, RunStatus
from app.models.event import append_note
from app.models.run import mark_running
from app.services import runs as run_service

from factories import PING_PLAYBOOK, Factory
from helpers import API, Api, login
from helpers import api_error as _error


@pytest.fixture
def api(app):
    return Api(app, "admin", "robot")


# Tokens, roles, errors


def test_no_token_is_401_with_a_json_error(app):
    response = app.test_client().get(f"{API}/hosts")

    body = _error(response, 401)
    assert "Authorization: Bearer" in body["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer pdt_not-a-real-token", "Basic YWRtaW46YWRtaW4=", "Bearer "]
)
def test_a_bad_token_is_401(app, header):
    response = app.test_client().get(f"{API}/hosts", headers={"Authorization": header})

    _error(response, 401)


def test_a_logged_in_session_is_no_token(client):
    """Cookies count for nothing here, which is why the API needs no CSRF token."""
    _error(client.get(f"{API}/hosts"), 401)
    _error(client.post(f"{API}/hosts", json={"name": "x", "address": "y"}), 401)


def test_a_role_too_low_is_403(app):
    viewer = Api(app, "viewer")

    assert viewer.get("/hosts").status_code == 200
    body = _error(viewer.post("/hosts", {"name": "web1", "address": "10.0.0.1"}), 403)
    assert body["message"] == (
        "Your role (viewer) does not allow this; it needs admin."
    )


def test_the_token_acts_with_its_owners_role_as_it_is_now(app, api):
    operator = Api(app, "operator")
    job = Factory().job()

    assert operator.post(f"/jobs/{job.id}/launch").status_code == 202
    operator.user.role = "viewer"
    db.session.commit()
    _error(operator.post(f"/jobs/{job.id}/launch"), 403)
    operator.user.active = False
    db.session.commit()
    _error(operator.get("/jobs"), 401)


def test_unknown_ids_and_urls_are_404_in_json(api):
    for path in ("/hosts/999", "/jobs/999", "/runs/999/events", "/no-such-thing"):
        body = _error(api.get(path), 404)
        assert body["message"]
    assert _error(api.get("/hosts/999"), 404)["message"] == "No host has id 999."
    _error(api.get(f"/hosts/{2**70}"), 404)


def test_a_wrong_method_is_405_in_json(api):
    _error(api("PUT", "/hosts"), 405)


def test_a_body_that_is_no_json_object_is_400(api):
    not_json = api.post(
        "/hosts", data="name=web1", headers={"Content-Type": "text/plain"}
    )
    a_list = api.post("/hosts", json=["web1"])

    assert "JSON" in _error(not_json, 400)["message"]
    assert "JSON object" in _error(a_list, 400)["message"]


def test_fields_of_the_wrong_type_are_named(api):
    response = api.post(
        "/hosts",
        {"name": 7, "address": "10.0.0.1", "port": "22", "groups": [1.5], "color": "x"},
    )

    assert _error(response, 422)["fields"] == {
        "name": "Must be a string.",
        "port": "Must be a whole number.",
        "groups": "Must be a whole number.",
        "color": "Unknown field.",
    }


def test_missing_fields_are_named(api):
    assert _error(api.post("/hosts", {}), 422)["fields"] == {
        "name": "Required.",
        "address": "Required.",
    }


def test_the_services_refusals_come_back_by_field(api, make):
    make.host("web1")

    taken = api.post("/hosts", {"name": "web1", "address": "10.0.0.1"})
    bad_port = api.post("/hosts", {"name": "web2", "address": "x", "port": 70000})
    bad_group = api.post("/groups", {"name": "all"})

    assert _error(taken, 422)["fields"] == {
        "name": "A host with this name already exists."
    }
    assert "port" in _error(bad_port, 422)["fields"]
    assert "Ansible makes the group 'all'" in _error(bad_group, 422)["fields"]["name"]


def test_bad_query_parameters_are_400(api):
    for query in ("page=0", "per_page=101", "page=x", "status=lost", "job=-1"):
        body = _error(api.get(f"/runs?{query}"), 400)
        assert body["fields"], query


# Hosts and groups


def test_hosts_and_groups_round_trip(api):
    group = api.post("/groups", {"name": "webservers", "vars": {"tier": "web"}})
    assert group.status_code == 201
    group_id = group.get_json()["id"]

    created = api.post(
        "/hosts",
        {
            "name": "web1",
            "address": "10.0.0.1",
            "port": 2222,
            "vars": {"ansible_user": "deploy"},
            "groups": [group_id],
        },
    )

    host = created.get_json()
    assert created.status_code == 201
    assert created.headers["Location"] == f"{API}/hosts/{host['id']}"
    assert host == {
        "id": host["id"],
        "name": "web1",
        "address": "10.0.0.1",
        "port": 2222,
        "connection": "ssh",
        "vars": {"ansible_user": "deploy"},
        "groups": [group_id],
    }
    assert api.get(f"/groups/{group_id}").get_json()["hosts"] == [host["id"]]

    changed = api.patch(f"/hosts/{host['id']}", {"address": "10.0.0.2", "groups": []})
    assert changed.get_json() | {"address": "10.0.0.1", "groups": [group_id]} == host
    assert api.delete(f"/hosts/{host['id']}").status_code == 204
    _error(api.get(f"/hosts/{host['id']}"), 404)


def test_lists_come_in_stable_pages(api, make):
    for name in ("web3", "db1", "web1", "web2", "app1"):
        make.host(name)

    first = api.get("/hosts?per_page=2").get_json()
    second = api.get("/hosts?per_page=2&page=2").get_json()
    beyond = api.get("/hosts?per_page=2&page=9").get_json()
    search = api.get("/hosts?q=web").get_json()

    assert [h["name"] for h in first["items"]] == ["app1", "db1"]
    assert [h["name"] for h in second["items"]] == ["web1", "web2"]
    assert (first["page"], first["per_page"], first["total"], first["pages"]) == (
        1,
        2,
        5,
        3,
    )
    assert beyond["items"] == [] and beyond["page"] == 9
    assert [h["name"] for h in search["items"]] == ["web1", "web2", "web3"]


# Credentials: write-only secrets


def test_credential_secrets_go_in_and_never_come_out(api):
    created = api.post(
        "/credentials",
        {
            "name": "deploy",
            "kind": "password",
            "username": "deploy",
            "secret": "s3cret-pw",
            "become_password": "b3come",
        },
    )

    credential = created.get_json()
    assert created.status_code == 201
    assert credential == {
        "id": credential["id"],
        "name": "deploy",
        "kind": "password",
        "username": "deploy",
        "has_become_password": True,
    }
    for response in (
        created,
        api.get("/credentials"),
        api.get(f"/credentials/{credential['id']}"),
    ):
        text = response.get_data(as_text=True)
        assert "s3cret-pw" not in text and "b3come" not in text


def test_a_credential_patch_keeps_or_replaces_secrets(api, make):
    from app.crypto import decrypt

    stored = make.credential(
        "deploy", secret="old-secret", become_password="old-become"
    )
    path = f"/credentials/{stored.id}"

    api.patch(path, {"username": "root"})
    kept = db.session.get(Credential, stored.id)
    assert decrypt(kept.secret_encrypted) == "old-secret"
    assert kept.has_become_password

    response = api.patch(path, {"secret": "new-secret", "become_password": None})
    db.session.refresh(kept)
    assert response.get_json()["has_become_password"] is False
    assert decrypt(kept.secret_encrypted) == "new-secret"
    assert _error(
        api.post(
            "/credentials", {"name": "x", "kind": "ssh_key", "secret": "not a key"}
        ),
        422,
    )["fields"]


# Playbooks


def test_playbooks_with_their_files(api):
    created = api.post(
        "/playbooks",
        {"name": "ping", "entry": "site.yml", "files": {"site.yml": PING_PLAYBOOK}},
    )
    playbook = created.get_json()

    assert created.status_code == 201
    assert playbook["files"] == {"site.yml": PING_PLAYBOOK}
    broken = api.patch(
        f"/playbooks/{playbook['id']}", {"files": {"site.yml": "- hosts: [\n"}}
    )
    assert list(_error(broken, 422)["fields"]) == ["files.site.yml"]
    renamed = api.patch(f"/playbooks/{playbook['id']}", {"name": "ping-all"})
    assert renamed.get_json()["name"] == "ping-all"


def test_a_playbook_jobs_use_cannot_be_deleted(api, make):
    playbook = make.playbook("ping")
    make.job("uses-it", playbook=playbook)

    body = _error(api.delete(f"/playbooks/{playbook.id}"), 409)

    assert "uses-it" in body["message"]


# Jobs and runs


def test_jobs_round_trip_and_hide_quick_commands(api, make):
    host = make.host("web1")
    make.job("quick-x", hosts=[host], hidden=True)

    created = api.post(
        "/jobs",
        {
            "name": "uptime",
            "kind": "adhoc",
            "module": "command",
            "args": "uptime",
            "hosts": [host.id],
            "timeout": 60,
            "extra_vars": {"a": 1},
        },
    )

    job = created.get_json()
    assert created.status_code == 201
    assert job == {
        "id": job["id"],
        "name": "uptime",
        "kind": "adhoc",
        "module": "command",
        "args": "uptime",
        "playbook": None,
        "hosts": [host.id],
        "groups": [],
        "credential": None,
        "limit": "",
        "tags": "",
        "skip_tags": "",
        "check_mode": False,
        "diff_mode": False,
        "verbosity": 0,
        "forks": 5,
        "become": False,
        "become_user": "",
        "become_method": "",
        "remote_user": "",
        "timeout": 60,
        "extra_vars": {"a": 1},
        "schedule": None,
        # An upload job's fields, empty for other kinds.
        "dest": "",
        "owner": "",
        "mode": "0644",
        "files": [],
        "parameters": [],
        "ask_at_launch": [],
    }
    assert [j["name"] for j in api.get("/jobs").get_json()["items"]] == ["uptime"]
    refused = api.post("/jobs", {"name": "x", "kind": "adhoc", "module": "rm"})
    assert _error(refused, 422)["fields"] == {
        "module": "Unknown module: rm.",
        "hosts": "Pick at least one host or group.",
    }
    assert api.patch(f"/jobs/{job['id']}", {"forks": 10}).get_json()["forks"] == 10


def test_launch_answers_202_with_the_run_and_records_who(app, make):
    operator = Api(app, "operator", "ops")
    job = make.job("ping")

    response = operator.post(
        f"/jobs/{job.id}/launch", {"extra_vars": {"colour": "teal"}, "limit": "web*"}
    )

    run = response.get_json()
    assert response.status_code == 202
    assert response.headers["Location"] == f"{API}/runs/{run['id']}"
    assert run["status"] == "queued" and run["job"] == job.id
    assert run["launched_by"] == "ops"
    assert (run["extra_vars"], run["limit"]) == ({"colour": "teal"}, "web*")
    assert run["queued_at"].endswith("Z")
    entry = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "launch")
    ).one()
    assert (entry.username, entry.via, entry.object_id) == ("ops", "api", run["id"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"limit": "@/etc/passwd"}, "limit"),
        ({"limit": "x" * 2000}, "limit"),
        ({"extra_vars": {"not a name": 1}}, "extra_vars"),
    ],
)
def test_launch_refuses_bad_limits_and_variables(api, make, body, field):
    job = make.job()

    assert field in _error(api.post(f"/jobs/{job.id}/launch", body), 422)["fields"]
    assert db.session.scalar(db.select(Run)) is None


def test_follow_a_run_through_its_events_then_cancel_another(api, make, run_worker):
    """What a new user does: a host and a job through the API, launch, follow."""
    host = api.post(
        "/hosts",
        {
            "name": "local1",
            "address": "127.0.0.1",
            "connection": "local",
            "vars": {"ansible_python_interpreter": "python3"},
        },
    ).get_json()
    other = make.host("local2")
    job = api.post(
        "/jobs",
        {
            "name": "hello",
            "kind": "adhoc",
            "module": "shell",
            "args": "echo {{ greeting }}",
            "hosts": [host["id"], other.id],
        },
    ).get_json()
    run = api.post(
        f"/jobs/{job['id']}/launch",
        {"extra_vars": {"greeting": "hello-from-the-api"}, "limit": "local1"},
    ).get_json()

    run_worker()

    lines, cursor = [], 0
    while True:
        page = api.get(f"/runs/{run['id']}/events?after={cursor}&limit=3").get_json()
        lines += [event["stdout"] for event in page["events"]]
        assert page["next"] >= cursor
        cursor = page["next"]
        if page["done"]:
            break
    finished = api.get(f"/runs/{run['id']}").get_json()
    assert finished["status"] == "successful", finished
    assert finished["rc"] == 0 and finished["finished_at"]
    assert set(finished["stats"]) == {"local1"}, "the limit kept local2 out"
    assert finished["stats"]["local1"]["changed"] == 1
    assert "hello-from-the-api" in "\n".join(lines)
    assert api.get(f"/runs/{run['id']}/events?after={cursor}").get_json() == {
        "events": [],
        "next": cursor,
        "done": True,
    }

    second = api.post(f"/jobs/{job['id']}/launch").get_json()
    canceled = api.post(f"/runs/{second['id']}/cancel")
    assert canceled.status_code == 202
    assert canceled.get_json()["status"] == "canceled"
    _error(api.post(f"/runs/{run['id']}/cancel"), 409)

    trail = api.get("/audit?action=cancel").get_json()["items"]
    assert [(e["object_id"], e["user"], e["via"]) for e in trail] == [
        (second["id"], "robot", "api")
    ]


def test_a_run_its_worker_s_shutdown_ended_is_done_once_its_last_line_is_in(api, make):
    run = run_service.launch(make.job())
    assert mark_running(run.id)
    # The worker ends the run before its work-horse writes the closing line.
    tasks.stop_for_shutdown(run.id)
    db.session.expire_all()

    page = api.get(f"/runs/{run.id}/events?after=0").get_json()
    assert page == {"events": [], "next": 0, "done": False}
    append_note(run.id, "Canceled by worker shutdown at 2026-12-04 06:40:00 UTC")
    page = api.get(f"/runs/{run.id}/events?after=0").get_json()
    assert [event["seq"] for event in page["events"]] == [1] and page["done"]


def test_runs_newest_first_filtered_by_status_and_job(api, make):
    first, second = make.job("one"), make.job("two")
    runs = [run_service.launch(job) for job in (first, second, first)]
    runs[0].status = RunStatus.FAILED
    db.session.commit()

    everything = api.get("/runs").get_json()["items"]
    failed = api.get("/runs?status=failed").get_json()["items"]
    of_first = api.get(f"/runs?job={first.id}").get_json()["items"]

    assert [r["id"] for r in everything] == [r.id for r in reversed(runs)]
    assert [r["id"] for r in failed] == [runs[0].id]
    assert [r["id"] for r in of_first] == [runs[2].id, runs[0].id]


def test_a_job_with_a_run_in_progress_cannot_be_deleted(api, make):
    job = make.job("busy")
    run_service.launch(job)

    assert "in progress" in _error(api.delete(f"/jobs/{job.id}"), 409)["message"]


# The audit trail


def test_the_audit_trail_records_api_changes_and_is_for_admins(app, api):
    api.post("/hosts", {"name": "web1", "address": "10.0.0.1"})

    entries = api.get("/audit?object_type=host").get_json()["items"]

    assert [(e["action"], e["object_name"], e["user"], e["via"]) for e in entries] == [
        ("create", "web1", "robot", "api")
    ]
    assert entries[0]["address"] == "127.0.0.1"
    _error(Api(app, "operator").get("/audit"), 403)


def test_pages_and_the_api_leave_the_same_entry(app, api, make):
    from helpers import csrf_token

    client = app.test_client()
    login(client, "admin", "person")
    client.post(
        "/hosts/new",
        data={
            "csrf_token": csrf_token(client),
            "name": "web1",
            "address": "a",
            "port": "22",
            "connection": "ssh",
        },
    )
    api.post("/hosts", {"name": "web2", "address": "a"})

    entries = {e.object_name: e for e in db.session.scalars(db.select(AuditEntry))}
    assert (entries["web1"].via, entries["web2"].via) == ("web", "api")
    assert entries["web1"].summary == "host web1 added"
    assert entries["web2"].summary == "host web2 added"
    assert entries["web1"].changes.keys() == entries["web2"].changes.keys()
