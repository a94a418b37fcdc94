"""The quick command: a hidden job made and launched in one step."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Job, Run, RunStatus
from app.services import ServiceError
from app.services import jobs as job_service

from helpers import csrf_token


def _post(client, **fields):
    data = {"csrf_token": csrf_token(client), "module": "shell", "credential": ""}
    data.update(fields)
    return client.post("/quick/new", data=data)


def test_form_offers_modules_hosts_and_groups(client, make):
    make.host("web1")
    make.group("dbs")

    page = client.get("/quick/new").get_data(as_text=True)

    assert '<option selected value="shell">shell</option>' in page
    assert "web1" in page and "dbs" in page
    assert "No quick command yet" in page


def test_form_without_hosts_says_where_to_add_them(client):
    page = client.get("/quick/new").get_data(as_text=True)

    assert "No host or group yet" in page
    assert 'href="/hosts/"' in page


def test_quick_command_runs_at_once_behind_a_hidden_job(client, make, run_worker):
    host = make.host("web1")

    response = _post(client, hosts=[str(host.id)], args="echo hello-from-playdeck")

    job = db.session.scalars(select(Job)).one()
    run = db.session.scalars(select(Run)).one()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/runs/{run.id}"
    assert job.hidden is True
    assert job.name.startswith("quick-")
    assert (job.module, job.args, job.hosts) == (
        "shell",
        "echo hello-from-playdeck",
        [host],
    )

    run_worker()
    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert "hello-from-playdeck" in client.get(f"/runs/{run.id}").get_data(as_text=True)

    assert job.name not in client.get("/jobs/").get_data(as_text=True)
    runs_page = client.get("/runs/").get_data(as_text=True)
    assert f'href="/runs/{run.id}"' in runs_page
    assert "quick command" in runs_page
    assert f'href="/runs/{run.id}"' in client.get("/quick/new").get_data(as_text=True)


def test_quick_command_on_a_group(client, make, run_worker):
    group = make.group("pair", hosts=[make.host("one"), make.host("two")])

    response = _post(client, groups=[str(group.id)], module="ping", args="")

    assert response.status_code == 302
    run_worker()
    run = db.session.scalars(select(Run)).one()
    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert set(run.stats) == {"one", "two"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"module": "evil", "args": "x"}, "Unknown module: evil."),
        ({"module": "shell", "args": ""}, "The shell module needs arguments"),
        ({"module": "ping", "hosts": []}, "Pick at least one host or group."),
    ],
)
def test_bad_input_is_refused_with_a_field_message(client, make, fields, message):
    fields.setdefault("hosts", [str(make.host().id)])

    response = _post(client, **fields)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'class="field has-error"' in page
    assert db.session.scalar(select(Job)) is None


def test_a_refused_launch_leaves_no_hidden_job(client, make):
    empty = make.group("nobody")

    response = _post(client, groups=[str(empty.id)], module="ping")

    assert response.status_code == 422
    assert "This job targets no host." in response.get_data(as_text=True)
    assert db.session.scalar(select(Job)) is None


def test_post_without_csrf_token_is_refused(client, make):
    host = make.host()

    response = client.post(
        "/quick/new", data={"module": "ping", "hosts": [str(host.id)]}
    )

    assert response.status_code == 400
    assert db.session.scalar(select(Job)) is None


@pytest.mark.all_databases
def test_quick_jobs_get_unique_names(app, make):
    host = make.host()

    names = {
        job_service.quick_job(module="ping", host_ids=[host.id]).name for _ in range(5)
    }

    assert len(names) == 5
    assert all(name.startswith("quick-") for name in names)


@pytest.mark.all_databases
def test_quick_job_checks_like_a_job(app):
    with pytest.raises(ServiceError) as caught:
        job_service.quick_job(module="rm", args="-rf /")

    assert caught.value.fields == {
        "module": "Unknown module: rm.",
        "hosts": "Pick at least one host or group.",
    }
