"""Group pages and the group service: Ansible's rules for group names, members."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Group, Host, Job
from app.services import ServiceError
from app.services import groups as group_service

from helpers import csrf_token, with_settings


def _post(client, url: str, **data):
    data.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=data)


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


# The list


def test_empty_list_says_what_to_do(client):
    page = client.get("/groups/")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "No group yet." in body
    assert 'href="/groups/new"' in body


def test_list_shows_groups_with_their_hosts(client, make):
    make.group("webservers", hosts=[make.host("web1"), make.host("web2")])
    make.group("databases", vars={"port": 5432})

    body = client.get("/groups/").get_data(as_text=True)

    assert body.index("databases") < body.index("webservers")
    assert "web1, web2" in body
    assert "No group yet." not in body


def test_list_is_paginated(app, client, make):
    with_settings(app, page_size=2)
    for name in ("a_group", "b_group", "c_group"):
        make.group(name)

    first = client.get("/groups/").get_data(as_text=True)
    second = client.get("/groups/?page=2").get_data(as_text=True)

    assert "b_group" in first and "c_group" not in first
    assert "c_group" in second and "a_group" not in second


# Creating


def test_create_group_redirects_to_it(client, make):
    web1, web2 = make.host("web1"), make.host("web2")

    response = _post(
        client,
        "/groups/new",
        name="webservers",
        vars="ntp_server: time.example.org\n",
        hosts=[str(web1.id), str(web2.id)],
    )

    group = db.session.scalar(db.select(Group))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/groups/{group.id}"
    assert group.name == "webservers"
    assert group.vars == {"ntp_server": "time.example.org"}
    assert [host.name for host in group.hosts] == ["web1", "web2"]

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Group webservers added." in page
    assert "ntp_server: time.example.org" in page
    assert "web2" in page


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("all", "Ansible makes the group &#39;all&#39; itself"),
        ("ungrouped", "Ansible makes the group &#39;ungrouped&#39; itself"),
        ("web-servers", "letters, digits and &#39;_&#39; only"),
        ("web.servers", "letters, digits and &#39;_&#39; only"),
        ("1web", "do not start with a digit"),
    ],
)
def test_names_ansible_refuses_are_refused(client, name, message):
    response = _post(client, "/groups/new", name=name)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count(Group) == 0


def test_name_is_required(client):
    response = _post(client, "/groups/new", name="")

    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)


def test_duplicate_group_name_is_refused(client, make):
    make.group("webservers")

    response = _post(client, "/groups/new", name="webservers")

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "A group with this name already exists." in body
    assert "The group was not saved" in body
    assert _count(Group) == 1


def test_bad_yaml_vars_are_refused_with_the_line(client):
    response = _post(
        client, "/groups/new", name="webservers", vars="a: 1\nb: 2\nc: [1, 2\n"
    )

    assert response.status_code == 422
    assert "Invalid YAML at line 4" in response.get_data(as_text=True)
    assert _count(Group) == 0


def test_form_shows_the_way_to_hosts_when_there_is_none(client):
    body = client.get("/groups/new").get_data(as_text=True)

    assert "No host yet." in body
    assert 'href="/hosts/new"' in body


def test_post_without_csrf_token_is_refused(client, make):
    group = make.group("webservers")

    create = client.post("/groups/new", data={"name": "databases"})
    delete = client.post(f"/groups/{group.id}/delete")

    assert create.status_code == 400
    assert delete.status_code == 400
    assert _count(Group) == 1


# Editing


def test_edit_form_shows_the_group(client, make):
    web1 = make.host("web1")
    make.host("db1")
    group = make.group("webservers", hosts=[web1], vars={"http_port": 80})

    body = client.get(f"/groups/{group.id}/edit").get_data(as_text=True)

    assert 'value="webservers"' in body
    assert "http_port: 80" in body
    assert f'<option selected value="{web1.id}">web1</option>' in body
    assert "db1" in body


def test_edit_replaces_name_vars_and_hosts(client, make):
    web1, db1 = make.host("web1"), make.host("db1")
    group = make.group("webservers", hosts=[web1], vars={"a": 1})

    response = _post(
        client,
        f"/groups/{group.id}/edit",
        name="databases",
        vars='{"port": 5432}',
        hosts=[str(db1.id)],
    )

    db.session.expire_all()
    assert response.status_code == 302
    assert group.name == "databases"
    assert group.vars == {"port": 5432}
    assert [host.name for host in group.hosts] == ["db1"]


def test_edit_with_no_host_picked_empties_the_group(client, make):
    group = make.group("webservers", hosts=[make.host("web1")])

    response = _post(client, f"/groups/{group.id}/edit", name="webservers")

    db.session.expire_all()
    assert response.status_code == 302
    assert group.hosts == []
    assert _count(Host) == 1


def test_edit_refuses_another_groups_name(client, make):
    make.group("databases")
    group = make.group("webservers")

    response = _post(client, f"/groups/{group.id}/edit", name="databases")

    assert response.status_code == 422
    assert "A group with this name already exists." in response.get_data(as_text=True)


def test_unknown_group_is_404(client):
    assert client.get("/groups/999").status_code == 404
    assert client.get("/groups/999/edit").status_code == 404


# Deleting


def test_delete_group_keeps_its_hosts_and_jobs(client, make):
    host = make.host("web1")
    group = make.group("webservers", hosts=[host])
    job = make.job("deploy", hosts=[], groups=[group])
    job_id = job.id

    response = _post(client, f"/groups/{group.id}/delete")

    assert response.status_code == 302
    assert response.headers["Location"] == "/groups/"
    db.session.expire_all()
    assert _count(Group) == 0
    assert db.session.get(Host, host.id).groups == []
    assert db.session.get(Job, job_id).groups == []
    page = client.get("/groups/").get_data(as_text=True)
    assert "Group webservers deleted; its hosts stay. It was a target of 1 job." in page


def test_delete_form_asks_for_confirmation(client, make):
    group = make.group("webservers")

    body = client.get(f"/groups/{group.id}").get_data(as_text=True)

    assert f'action="/groups/{group.id}/delete"' in body
    assert 'data-confirm="Delete group webservers?' in body


# The service, on every database


@pytest.mark.all_databases
def test_service_refuses_reserved_and_malformed_names(app):
    for name in ("all", "ungrouped", "web-servers", ""):
        with pytest.raises(ServiceError) as caught:
            group_service.create_group(name=name)
        assert "name" in caught.value.fields, name


@pytest.mark.all_databases
def test_service_refuses_bad_variable_names_and_unknown_hosts(app):
    with pytest.raises(ServiceError) as bad_vars:
        group_service.create_group(name="web", vars={"http-port": 80})
    with pytest.raises(ServiceError) as unknown:
        group_service.create_group(name="web", host_ids=[999])

    assert "vars" in bad_vars.value.fields
    assert "hosts" in unknown.value.fields
    assert group_service.all_groups() == []


@pytest.mark.all_databases
def test_a_name_taken_meanwhile_is_a_field_error_too(app, monkeypatch):
    group_service.create_group(name="web")
    monkeypatch.setattr(group_service, "_name_taken", lambda name, group: False)

    with pytest.raises(ServiceError) as caught:
        group_service.create_group(name="web")

    assert caught.value.fields == {"name": "A group with this name already exists."}


@pytest.mark.all_databases
def test_update_keeps_the_group_when_refused(app, make):
    host = make.host("web1")
    group = group_service.create_group(name="web", vars={"a": 1}, host_ids=[host.id])

    with pytest.raises(ServiceError):
        group_service.update_group(group, name="all", vars={}, host_ids=[])

    db.session.expire_all()
    assert group.name == "web"
    assert group.vars == {"a": 1}
    assert group.hosts == [host]


@pytest.mark.all_databases
def test_delete_counts_the_jobs_that_targeted_the_group(app, make):
    group = make.group("web")
    make.job(groups=[group])
    make.job(groups=[group], hidden=True)  # a quick command: history, not a job

    assert group_service.delete_group(group) == 1
    assert _count(Group) == 0
    assert _count(Job) == 2
