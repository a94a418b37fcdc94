"""Host pages and the host service: list, search, forms, detail, delete."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Host, Job, Run, RunStatus, utcnow
from app.models.run import mark_finished
from app.services import ServiceError
from app.services import hosts as host_service

from helpers import csrf_token, with_settings

PORT_MESSAGE = "A port is a number from 1 to 65535."


def _post(client, url: str, **data):
    data.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=data)


def _host_form(**changes) -> dict:
    form = {
        "name": "web1",
        "address": "10.0.0.1",
        "port": "22",
        "connection": "ssh",
        "vars": "",
    }
    form.update(changes)
    return form


# The list


def test_empty_list_says_what_to_do(client):
    page = client.get("/hosts/")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "No host yet." in body
    assert 'href="/hosts/new"' in body


def test_list_shows_hosts_by_name_with_their_groups(client, make):
    db1 = make.host("db1", address="10.0.0.2")
    make.host("web1", address="10.0.0.1")
    make.group("databases", hosts=[db1])

    body = client.get("/hosts/").get_data(as_text=True)

    assert body.index("db1") < body.index("web1")
    assert "10.0.0.2" in body
    assert "databases" in body
    assert "No host yet." not in body


def test_search_filters_by_name_or_address(client, make):
    make.host("web1", address="10.0.0.1")
    make.host("db1", address="db.example.org")

    by_name = client.get("/hosts/?q=WEB").get_data(as_text=True)
    by_address = client.get("/hosts/?q=example.org").get_data(as_text=True)
    nothing = client.get("/hosts/?q=mail").get_data(as_text=True)

    assert "web1" in by_name and "db1" not in by_name
    assert "db1" in by_address and "web1" not in by_address
    assert "No host has “mail” in its name or address." in nothing


def test_list_is_paginated_and_keeps_the_search(app, client, make):
    with_settings(app, page_size=2)
    for name in ("web1", "web2", "web3", "db1"):
        make.host(name)

    first = client.get("/hosts/?q=web").get_data(as_text=True)
    second = client.get("/hosts/?q=web&page=2").get_data(as_text=True)

    assert "web1" in first and "web2" in first and "web3" not in first
    assert "page=2&amp;q=web" in first or "q=web&amp;page=2" in first
    assert "web3" in second and "web1" not in second


# Creating


def test_create_host_redirects_to_it(client, make):
    group = make.group("webservers")

    response = _post(
        client,
        "/hosts/new",
        **_host_form(
            port="2222",
            vars="http_port: 8080\nusers: [ann, bob]\n",
            groups=[str(group.id)],
        ),
    )

    host = db.session.scalar(db.select(Host).where(Host.name == "web1"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/hosts/{host.id}"
    assert host.address == "10.0.0.1"
    assert host.port == 2222
    assert host.connection == "ssh"
    assert host.vars == {"http_port": 8080, "users": ["ann", "bob"]}
    assert [g.name for g in host.groups] == ["webservers"]

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Host web1 added." in page
    assert "http_port: 8080" in page


def test_vars_may_be_json(client):
    _post(client, "/hosts/new", **_host_form(vars='{"ansible_user": "deploy"}'))

    host = db.session.scalar(db.select(Host))
    assert host.vars == {"ansible_user": "deploy"}


def test_bad_yaml_vars_are_refused_with_the_line(client):
    response = _post(client, "/hosts/new", **_host_form(vars="a: 1\nb: c: d\n"))

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Invalid YAML at line 2" in body
    assert "The host was not saved" in body
    assert db.session.scalar(db.select(Host)) is None


def test_vars_must_be_a_mapping_of_variable_names(client):
    a_list = _post(client, "/hosts/new", **_host_form(vars="- a\n- b\n"))
    bad_key = _post(client, "/hosts/new", **_host_form(vars="http-port: 80\n"))

    assert a_list.status_code == 422
    assert "Variables must be a mapping" in a_list.get_data(as_text=True)
    assert bad_key.status_code == 422
    assert "Not a valid variable name: http-port" in bad_key.get_data(as_text=True)


def test_duplicate_host_name_is_refused(client, make):
    make.host("web1")

    response = _post(client, "/hosts/new", **_host_form())

    assert response.status_code == 422
    assert "A host with this name already exists." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Host)) == 1


@pytest.mark.parametrize("port", ["0", "65536", "-1", "ssh"])
def test_port_out_of_range_is_refused(client, port):
    response = _post(client, "/hosts/new", **_host_form(port=port))

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert PORT_MESSAGE in body or "Not a valid integer value." in body
    assert db.session.scalar(db.select(Host)) is None


@pytest.mark.parametrize("name", ["web 1", "-web", "web/1", ""])
def test_bad_host_names_are_refused(client, name):
    response = _post(client, "/hosts/new", **_host_form(name=name))

    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert db.session.scalar(db.select(Host)) is None


def test_every_bad_field_is_reported_at_once(client):
    response = _post(
        client, "/hosts/new", **_host_form(name="web 1", port="0", vars="a: [\n")
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Use letters, digits" in body
    assert PORT_MESSAGE in body
    assert "Invalid YAML at line" in body


def test_address_is_required(client):
    response = _post(client, "/hosts/new", **_host_form(address=""))

    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)


def test_connection_must_be_ssh_or_local(client):
    response = _post(client, "/hosts/new", **_host_form(connection="winrm"))

    assert response.status_code == 422
    assert db.session.scalar(db.select(Host)) is None


def test_form_shows_the_way_to_groups_when_there_is_none(client):
    body = client.get("/hosts/new").get_data(as_text=True)

    assert "No group yet." in body
    assert 'href="/groups/new"' in body


def test_post_without_csrf_token_is_refused(client, make):
    host = make.host("web1")

    create = client.post("/hosts/new", data=_host_form(name="web2"))
    delete = client.post(f"/hosts/{host.id}/delete")

    assert create.status_code == 400
    assert delete.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(Host)) == 1


# Editing


def test_edit_form_shows_the_host(client, make):
    group = make.group("webservers")
    host = make.host("web1", vars={"http_port": 8080})
    host.groups = [group]
    db.session.commit()

    body = client.get(f"/hosts/{host.id}/edit").get_data(as_text=True)

    assert 'value="web1"' in body
    assert "http_port: 8080" in body
    assert f'<option selected value="{group.id}">webservers</option>' in body


def test_edit_changes_the_host_and_its_groups(client, make):
    old, new = make.group("old"), make.group("new")
    host = make.host("web1", vars={"a": 1})
    host.groups = [old]
    db.session.commit()

    response = _post(
        client,
        f"/hosts/{host.id}/edit",
        **_host_form(
            name="web-1.example.org",
            address="web.example.org",
            port="2200",
            connection="local",
            vars="",
            groups=[str(new.id)],
        ),
    )

    db.session.expire_all()
    assert response.status_code == 302
    assert host.name == "web-1.example.org"
    assert host.address == "web.example.org"
    assert host.port == 2200
    assert host.connection == "local"
    assert host.vars == {}
    assert [g.name for g in host.groups] == ["new"]


def test_edit_may_keep_the_name_but_not_take_another_hosts(client, make):
    make.host("web2")
    host = make.host("web1")

    same = _post(client, f"/hosts/{host.id}/edit", **_host_form(name="web1"))
    taken = _post(client, f"/hosts/{host.id}/edit", **_host_form(name="web2"))

    assert same.status_code == 302
    assert taken.status_code == 422
    assert "A host with this name already exists." in taken.get_data(as_text=True)
    db.session.expire_all()
    assert host.name == "web1"


def test_unknown_host_is_404(client):
    assert client.get("/hosts/999").status_code == 404
    assert client.get("/hosts/999/edit").status_code == 404


# The detail page


def _finished(job, status, stats) -> Run:
    """A run of `job` ended with `status` and these per-host counters."""
    run = Run(job=job, status=RunStatus.RUNNING)
    db.session.add(run)
    db.session.commit()
    mark_finished(run.id, status, stats=stats)
    return run


def test_detail_shows_groups_vars_and_recent_runs(client, make):
    host = make.host("web1", vars={"http_port": 8080})
    other = make.host("db1")
    make.group("webservers", hosts=[host])
    mine = make.job("deploy", hosts=[host])
    theirs = make.job("backup", hosts=[other])
    _finished(mine, RunStatus.SUCCESSFUL, {"web1": {"ok": 2, "changed": 1}})
    _finished(theirs, RunStatus.FAILED, {"db1": {"failed": 1}})

    body = client.get(f"/hosts/{host.id}").get_data(as_text=True)

    assert "webservers" in body
    assert "http_port: 8080" in body
    assert "deploy" in body
    assert "successful" in body
    assert "backup" not in body
    assert "failed" not in body


def test_detail_shows_runs_of_every_job_that_reached_the_host(client, make):
    """Through a group or a quick command too, each with how it went there."""
    host = make.host("web1")
    group = make.group("webservers", hosts=[host])
    direct = make.job("deploy", hosts=[host])
    through_group = make.job("patch", hosts=[], groups=[group])
    quick = make.job("quick-1", hosts=[host], hidden=True)
    _finished(direct, RunStatus.SUCCESSFUL, {"web1": {"ok": 3}})
    broken = _finished(
        through_group, RunStatus.FAILED, {"web1": {"ok": 1, "failed": 1}, "x": {}}
    )
    latest = _finished(direct, RunStatus.SUCCESSFUL, {"web1": {"ok": 2, "changed": 2}})
    _finished(quick, RunStatus.SUCCESSFUL, {"web1": {"ok": 1}})

    body = client.get(f"/hosts/{host.id}").get_data(as_text=True)

    recent = re.findall(r'<tr data-run="(\d+)" data-outcome="(\w+)"', body)
    assert len(recent) == 4
    assert (str(broken.id), "failed") in recent
    assert "Went wrong on this host in 1 of its last 4 runs." in body
    by_job = re.findall(r'<tr data-job="(\d+)" data-outcome="(\w+)"', body)
    assert by_job == [
        (str(direct.id), "changed"),  # deploy's newest run, not its first
        (str(through_group.id), "failed"),
    ], "jobs by name, quick commands left out"
    assert f'href="/runs/{latest.id}?host=web1"' in body


def test_detail_without_runs_says_so(client, make):
    host = make.host("web1")

    body = client.get(f"/hosts/{host.id}").get_data(as_text=True)

    assert "No run on this host yet." in body


# Deleting


def test_delete_host_keeps_its_jobs(client, make):
    host = make.host("web1")
    job = make.job("deploy", hosts=[host])
    job_id = job.id

    response = _post(client, f"/hosts/{host.id}/delete")

    assert response.status_code == 302
    assert response.headers["Location"] == "/hosts/"
    db.session.expire_all()
    assert db.session.get(Host, host.id) is None
    assert db.session.get(Job, job_id).hosts == []
    page = client.get("/hosts/").get_data(as_text=True)
    assert "Host web1 deleted. It was a target of 1 job." in page


def test_delete_form_asks_for_confirmation(client, make):
    host = make.host("web1")

    body = client.get(f"/hosts/{host.id}").get_data(as_text=True)

    assert f'action="/hosts/{host.id}/delete"' in body
    assert 'data-confirm="Delete host web1? Jobs that target it' in body


# The service, on every database


@pytest.mark.all_databases
def test_service_reports_every_refused_field_at_once(app):
    with pytest.raises(ServiceError) as caught:
        host_service.create_host(
            name="bad name",
            address="a b",
            port=70000,
            connection="telnet",
            vars={"bad-key": 1},
        )

    assert set(caught.value.fields) == {"name", "address", "port", "connection", "vars"}


@pytest.mark.all_databases
def test_service_refuses_a_duplicate_name(app):
    host_service.create_host(name="web1", address="10.0.0.1")

    with pytest.raises(ServiceError) as caught:
        host_service.create_host(name="web1", address="10.0.0.2")

    assert caught.value.fields == {"name": "A host with this name already exists."}


@pytest.mark.all_databases
def test_a_name_taken_meanwhile_is_a_field_error_too(app, monkeypatch):
    """Two requests may pass the check at once; the unique index decides."""
    host_service.create_host(name="web1", address="10.0.0.1")
    monkeypatch.setattr(host_service, "_name_taken", lambda name, host: False)

    with pytest.raises(ServiceError) as caught:
        host_service.create_host(name="web1", address="10.0.0.2")

    assert caught.value.fields == {"name": "A host with this name already exists."}
    assert [host.name for host in host_service.all_hosts()] == ["web1"]


@pytest.mark.all_databases
def test_service_refuses_unknown_groups(app):
    with pytest.raises(ServiceError) as caught:
        host_service.create_host(name="web1", address="10.0.0.1", group_ids=[999])

    assert "groups" in caught.value.fields


@pytest.mark.all_databases
def test_search_treats_wildcards_literally(app, make):
    make.host("web1", address="10.0.0.1")
    make.host("web_2", address="10.0.0.2")

    found = db.session.scalars(host_service.hosts_query("_")).all()
    everything = db.session.scalars(host_service.hosts_query("")).all()

    assert [host.name for host in found] == ["web_2"]
    assert [host.name for host in everything] == ["web1", "web_2"]


@pytest.mark.all_databases
def test_recent_runs_are_the_newest_finished_runs_that_reached_the_host(app, make):
    host = make.host("web1")
    job = make.job(hosts=[host])
    make.group("webservers", hosts=[host])
    through_group = make.job(hosts=[], groups=[host.groups[0]])
    runs = [_finished(job, RunStatus.SUCCESSFUL, {"web1": {"ok": 1}}) for _ in range(2)]
    runs.append(_finished(through_group, RunStatus.FAILED, {"web1": {"failed": 1}}))
    _finished(job, RunStatus.SUCCESSFUL, {"db1": {"ok": 1}})  # another host's
    db.session.add(Run(job=job, status=RunStatus.RUNNING))  # not finished
    db.session.commit()

    recent = host_service.recent_runs(host, limit=2)

    assert [row.run.id for row in recent] == [runs[2].id, runs[1].id]
    assert [row.result.outcome for row in recent] == ["failed", "ok"]


@pytest.mark.all_databases
def test_the_hosts_list_counts_what_went_wrong_in_the_last_days(client, make):
    web, db1, idle = make.host("web1"), make.host("db1"), make.host("idle")
    job = make.job(hosts=[web, db1])
    _finished(job, RunStatus.FAILED, {"web1": {"unreachable": 1}, "db1": {"ok": 1}})
    _finished(job, RunStatus.SUCCESSFUL, {"web1": {"ok": 1}, "db1": {"ok": 1}})

    body = client.get("/hosts/").get_data(as_text=True)

    assert "wrong in 1 of 2 runs" in body
    assert "2 runs, all fine" in body
    health = host_service.health(["web1", "db1", "idle"], utcnow())
    assert health["web1"] == host_service.HostHealth(runs=2, bad=1, last="ok")
    assert idle.name not in health


@pytest.mark.all_databases
def test_delete_counts_the_jobs_that_targeted_the_host(app, make):
    host = make.host("web1")
    make.job(hosts=[host])
    make.job(hosts=[host, make.host()])
    make.job(hosts=[host], hidden=True)  # a quick command: history, not a job

    assert host_service.delete_host(host) == 2
    assert db.session.scalar(db.select(db.func.count()).select_from(Host)) == 1
