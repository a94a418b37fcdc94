"""The audit trail: an entry for every change, login and token event, never a
secret, and a page where admins read and filter it."""

from __future__ import annotations

import json

from app import audit
from app.extensions import db
from app.models import AuditEntry
from app.services import credentials as credential_service
from app.services import users as user_service

from factories import PASSWORD, PING_PLAYBOOK
from helpers import csrf_token, login

SECRETS = ("TopSecret-key-material", "become-me-secret", "hunter2-in-vars")
KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "TopSecret-key-material\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


def _post(client, url: str, **data):
    data.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=data)


def _entries(**filters) -> list[AuditEntry]:
    return list(db.session.scalars(audit.entries_query(**filters)))


def _last(**filters) -> AuditEntry:
    return _entries(**filters)[0]


def test_host_changes_are_recorded_with_who_when_and_from_where(client, make):
    group = make.group("webservers")

    _post(
        client,
        "/hosts/new",
        name="web1",
        address="10.0.0.1",
        port="22",
        connection="ssh",
        groups=[str(group.id)],
    )
    created = _last(action="create")
    _post(
        client,
        f"/hosts/{created.object_id}/edit",
        name="web1",
        address="10.0.0.2",
        port="2222",
        connection="ssh",
    )
    updated = _last(action="update")
    _post(client, f"/hosts/{created.object_id}/delete")
    deleted = _last(action="delete")

    assert (created.object_type, created.object_name) == ("host", "web1")
    assert created.username == "admin" and created.via == "web"
    assert created.address == "127.0.0.1"
    assert created.at is not None and created.user_id is not None
    assert created.changes["groups"] == ["webservers"]
    assert updated.changes == {
        "address": ["10.0.0.1", "10.0.0.2"],
        "port": [22, 2222],
        "groups": [["webservers"], []],
    }
    assert updated.summary == "host web1 changed: address, port, groups"
    assert (deleted.object_id, deleted.summary) == (
        created.object_id,
        "host web1 deleted",
    )


def test_group_playbook_and_job_changes_are_recorded(client, make):
    host = make.host("web1")
    _post(client, "/groups/new", name="webservers", hosts=[str(host.id)])
    _post(
        client,
        "/playbooks/new",
        name="ping",
        entry="site.yml",
        **{"files-0-name": "site.yml", "files-0-content": PING_PLAYBOOK},
    )
    _post(
        client,
        "/jobs/new",
        name="uptime",
        kind="adhoc",
        module="command",
        args="uptime",
        hosts=[str(host.id)],
        forks="5",
    )

    made = {(entry.object_type, entry.object_name) for entry in _entries()}
    assert {("group", "webservers"), ("playbook", "ping"), ("job", "uptime")} <= made
    job_entry = _last(object_type="job")
    assert job_entry.changes["hosts"] == ["web1"]
    assert job_entry.changes["args"] == "uptime"


def test_logins_good_and_bad_and_logouts_are_recorded(app, make):
    make.user("ann", role="viewer")
    client = app.test_client()

    for password in ("wrong password", PASSWORD):
        _post(client, "/login", username="ann", password=password)
    _post(client, "/logout")

    failed, logged_in, logged_out = reversed(_entries())
    assert [failed.action, logged_in.action, logged_out.action] == [
        "login_failed",
        "login",
        "logout",
    ]
    assert failed.username == "ann" and failed.user_id is None
    assert failed.summary == "failed login as ann"
    assert logged_in.user_id is not None and logged_in.address == "127.0.0.1"


def test_user_and_password_changes_are_recorded(client, make):
    ann = make.user("ann", role="viewer")

    _post(client, f"/users/{ann.id}/edit", role="operator", active="y")
    _post(client, f"/users/{ann.id}/password")

    update, reset = reversed(_entries(object_type="user")[:2])
    assert update.changes == {"role": ["viewer", "operator"]}
    assert update.summary == "user ann: role viewer → operator"
    assert reset.action == "password_change"


def test_command_line_changes_are_recorded_as_cli(app, tmp_path):
    secret = tmp_path / "password"
    secret.write_text("a long enough password\n")

    app.test_cli_runner().invoke(
        args=["users", "create", "ann", "--password-file", secret]
    )

    entry = _last()
    assert (entry.action, entry.via, entry.username) == ("create", "cli", "")
    assert entry.changes == {"username": "ann", "role": "viewer"}


def test_no_secret_reaches_the_trail(client, make):
    host = make.host("web1")
    credential = credential_service.create_credential(
        name="deploy",
        kind="ssh_key",
        username="deploy",
        secret=KEY,
        become_password="become-me-secret",
    )
    credential_service.update_credential(
        credential,
        name="deploy",
        kind="ssh_key",
        username="root",
        secret=KEY.replace("TopSecret", "TopSecret-new"),
        remove_become_password=True,
    )
    _post(
        client,
        "/jobs/new",
        name="deploy",
        kind="adhoc",
        module="ping",
        hosts=[str(host.id)],
        credential=str(credential.id),
        forks="5",
        extra_vars="db_password: hunter2-in-vars\napi_key: hunter2-in-vars\n",
    )
    _post(
        client,
        "/account/password",
        current=PASSWORD,
        new="my-new-password-secret",
        confirm="my-new-password-secret",
    )
    user_service.create_user(username="bob", password="bobs-password-secret")

    rows = [
        json.dumps(
            {c.name: str(getattr(entry, c.name)) for c in AuditEntry.__table__.columns}
        )
        for entry in _entries()
    ]
    assert len(rows) >= 5
    for secret in (*SECRETS, "my-new-password-secret", "bobs-password-secret"):
        assert not any(secret in row for row in rows), secret
    update = _last(object_type="credential", action="update")
    assert update.changes["secret_replaced"] is True
    assert update.changes["has_become_password"] == [True, False]
    assert update.changes["username"] == ["deploy", "root"]
    job = _last(object_type="job")
    assert job.changes["extra_vars"] == {
        "db_password": audit.HIDDEN,
        "api_key": audit.HIDDEN,
    }


def test_scrub_hides_secret_names_at_any_depth():
    changes = {
        "vars": [{"ansible_become_pass": "x", "port": 22}, {"nested": {"token": 1}}],
        "secret_replaced": True,
        "has_become_password": [False, True],
    }

    assert audit.scrub(changes) == {
        "vars": [
            {"ansible_become_pass": audit.HIDDEN, "port": 22},
            {"nested": {"token": audit.HIDDEN}},
        ],
        "secret_replaced": True,
        "has_become_password": [False, True],
    }


# The page


def test_admins_read_and_filter_the_trail(client, make):
    ann = make.user("ann", role="viewer")
    _post(client, f"/users/{ann.id}/edit", role="operator")
    make.host("web1")
    _post(
        client,
        "/hosts/new",
        name="db1",
        address="10.0.0.9",
        port="22",
        connection="ssh",
    )

    everything = client.get("/audit/").get_data(as_text=True)
    hosts_only = client.get("/audit/?object=host").get_data(as_text=True)
    by_nobody = client.get("/audit/?user=nobody").get_data(as_text=True)

    assert "host db1 added" in everything
    assert 'data-action="create"' in hosts_only
    assert 'data-action="update"' not in hosts_only
    assert "Nothing recorded matches these filters." in by_nobody
    assert '<option value="admin" ' in everything


def test_the_trail_is_paginated_newest_first(app, client):
    from helpers import with_settings

    with_settings(app, page_size=2)
    for name in ("one", "two", "three"):
        audit.record("create", summary=f"entry {name}")

    first = client.get("/audit/").get_data(as_text=True)
    second = client.get("/audit/?page=2").get_data(as_text=True)

    assert "entry three" in first and "entry two" in first
    assert "entry one" in second and "entry three" not in second


def test_viewers_and_operators_cannot_read_it(app):
    for role in ("viewer", "operator"):
        client = app.test_client()
        login(client, role)
        assert client.get("/audit/").status_code == 403


def test_launch_and_cancel_from_the_pages_are_recorded_with_who(client, make):
    job = make.job("uptime")

    launched = _post(client, f"/jobs/{job.id}/launch")
    run_id = int(launched.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    _post(client, f"/runs/{run_id}/cancel", confirmed="yes")

    launch, cancel = reversed(_entries(object_type="run"))
    assert (launch.action, launch.object_id, launch.username) == (
        "launch",
        run_id,
        "admin",
    )
    assert launch.summary == f"run {run_id} of job uptime launched"
    assert cancel.action == "cancel"
    assert cancel.summary == f"run {run_id} of job uptime canceled by admin"
    assert "<dd data-launched-by>admin</dd>" in page


def test_a_quick_command_is_recorded_as_its_launch_only(client, make):
    host = make.host("web1")

    _post(client, "/quick/new", module="shell", args="uptime", hosts=[str(host.id)])

    (entry,) = _entries()
    assert entry.action == "launch"
    assert entry.summary.endswith("of quick command shell uptime launched")
