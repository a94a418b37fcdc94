"""Jobs: the list, the form and its checks, the job page and its Run button."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Job, Run, RunStatus
from app.services import ServiceError
from app.services import jobs as job_service
from app.services import runs as run_service

from helpers import csrf_token, with_settings


def _form(token: str, **changes) -> dict:
    data = {
        "csrf_token": token,
        "name": "uptime",
        "kind": "adhoc",
        "module": "shell",
        "args": "uptime",
        "playbook": "",
        "credential": "",
        "forks": "5",
        "timeout": "",
        "extra_vars": "",
    }
    data.update(changes)
    return data


def _job(name: str) -> Job | None:
    return db.session.scalar(select(Job).where(Job.name == name))


# The list.


def test_empty_list_says_what_to_do(client):
    page = client.get("/jobs/").get_data(as_text=True)

    assert "No job yet" in page
    assert 'href="/jobs/new"' in page
    assert 'href="/quick/new"' in page


def test_list_shows_jobs_with_their_last_run(client, make, run_worker):
    web = make.host("web1")
    group = make.group("dbs")
    ran = make.job("ping-web", hosts=[web], groups=[group], module="ping")
    never = make.job("deploy", playbook=make.playbook("site"))
    run_service.launch(ran)
    newest = run_service.launch(ran)
    run_worker()

    page = client.get("/jobs/").get_data(as_text=True)

    assert f'href="/jobs/{ran.id}"' in page
    assert f'href="/jobs/{never.id}"' in page
    assert "web1, dbs" in page
    assert "<code>ping</code>" in page and "<code>site</code>" in page
    assert f'href="/runs/{newest.id}"' in page
    assert "status-successful" in page
    assert "never run" in page


def test_hidden_jobs_are_not_listed(client, make):
    make.job("visible")
    make.job("quick-20250101T000000Z-abcdef", hidden=True)

    page = client.get("/jobs/").get_data(as_text=True)

    assert "visible" in page
    assert "quick-2025" not in page


def test_list_by_name_and_by_pages(app, client, make):
    with_settings(app, page_size=2)
    for name in ("bravo", "alpha", "charlie"):
        make.job(name)

    first = client.get("/jobs/?sort=name").get_data(as_text=True)
    second = client.get("/jobs/?sort=name&page=2").get_data(as_text=True)

    assert first.index("alpha") < first.index("bravo")
    assert "charlie" not in first
    assert "page 1 of 2" in first
    assert "/jobs/?page=2&amp;sort=name" in first
    assert "charlie" in second and "alpha" not in second
    newest = client.get("/jobs/").get_data(as_text=True)
    assert "charlie" in newest and "bravo" not in newest


# Creating, editing, deleting.


def test_new_form_offers_the_allowed_modules_and_the_targets(client, make):
    make.host("web1")
    make.playbook("site")

    page = client.get("/jobs/new").get_data(as_text=True)

    assert '<option value="shell">shell</option>' in page
    assert "web1" in page and "site" in page
    assert 'value="5"' in page  # forks


def test_new_form_without_hosts_says_where_to_add_them(client):
    page = client.get("/jobs/new").get_data(as_text=True)

    assert 'href="/hosts/"' in page
    assert 'href="/playbooks/new"' in page


def test_create_an_adhoc_job(client, make):
    host = make.host("web1")
    group = make.group("dbs", hosts=[make.host("db1")])
    credential = make.credential("deploy")

    response = client.post(
        "/jobs/new",
        data=_form(
            csrf_token(client),
            hosts=[str(host.id)],
            groups=[str(group.id)],
            credential=str(credential.id),
            forks="10",
            timeout="60",
            extra_vars="colour: teal\nsizes: [1, 2]\n",
        ),
    )

    job = _job("uptime")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/jobs/{job.id}"
    assert (job.kind, job.module, job.args) == ("adhoc", "shell", "uptime")
    assert job.hosts == [host] and job.groups == [group]
    assert job.credential == credential
    assert (job.forks, job.timeout) == (10, 60)
    assert job.extra_vars == {"colour": "teal", "sizes": [1, 2]}
    assert job.hidden is False
    assert "Job uptime created" in client.get(f"/jobs/{job.id}").get_data(as_text=True)


def test_create_a_playbook_job_keeps_only_what_its_kind_uses(client, make):
    host = make.host()
    playbook = make.playbook("site")

    response = client.post(
        "/jobs/new",
        data=_form(
            csrf_token(client),
            name="deploy",
            kind="playbook",
            playbook=str(playbook.id),
            hosts=[str(host.id)],
            extra_vars='{"release": "1.2"}',
        ),
    )

    assert response.status_code == 302
    job = _job("deploy")
    assert job.playbook == playbook
    assert (job.module, job.args) == ("", "")
    assert job.timeout is None
    assert job.extra_vars == {"release": "1.2"}
    assert job.description == "site"


def test_edit_a_job(client, make):
    job = make.job("uptime", module="command", args="uptime", extra_vars={"a": 1})
    other = make.host("other")

    page = client.get(f"/jobs/{job.id}/edit").get_data(as_text=True)
    assert 'value="uptime"' in page
    assert "a: 1" in page

    response = client.post(
        f"/jobs/{job.id}/edit",
        data=_form(
            csrf_token(client),
            name="uptime-2",
            module="command",
            args="uptime -p",
            hosts=[str(other.id)],
        ),
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert (job.name, job.args, job.extra_vars) == ("uptime-2", "uptime -p", {})
    assert job.hosts == [other]


def test_editing_keeps_the_own_name(client, make):
    job = make.job("uptime", module="ping")

    response = client.post(
        f"/jobs/{job.id}/edit",
        data=_form(
            csrf_token(client),
            module="ping",
            args="",
            hosts=[str(job.hosts[0].id)],
            forks="20",
        ),
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert job.forks == 20


def test_delete_a_job_and_its_runs(client, make, run_worker):
    job = make.job("uptime")
    run = run_service.launch(job)
    run_worker()
    run_id = run.id

    response = client.post(
        f"/jobs/{job.id}/delete", data={"csrf_token": csrf_token(client)}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/jobs/"
    db.session.expunge_all()
    assert _job("uptime") is None
    assert db.session.get(Run, run_id) is None


def test_delete_is_refused_while_a_run_is_going(client, make):
    job = make.job("uptime")
    run = run_service.launch(job)  # queued: no worker runs it here

    response = client.post(
        f"/jobs/{job.id}/delete",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=True,
    )

    assert f"has a run in progress (run {run.id})" in response.get_data(as_text=True)
    assert _job("uptime") is not None


# The form's checks, each shown under its field.


def _post_new(client, make, **changes):
    host = make.host()
    changes.setdefault("hosts", [str(host.id)])
    return client.post("/jobs/new", data=_form(csrf_token(client), **changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"module": "evil"}, "Unknown module: evil."),
        ({"module": ""}, "Choose the module to run."),
        ({"module": "shell", "args": ""}, "The shell module needs arguments"),
        ({"kind": "playbook", "playbook": ""}, "Choose the playbook to run."),
        ({"kind": "playbook", "playbook": "999"}, "Unknown playbook."),
        ({"kind": "other"}, "Choose ad-hoc, playbook or upload."),
        ({"hosts": []}, "Pick at least one host or group."),
        ({"hosts": ["999"]}, "Unknown hosts: 999."),
        ({"name": "  "}, "A job needs a name."),
        ({"forks": "0"}, "Forks must be between 1 and 200."),
        ({"forks": "201"}, "Forks must be between 1 and 200."),
        ({"forks": "many"}, "Not a valid integer value."),
        ({"timeout": "86401"}, "A timeout is between 1 and 86400 seconds"),
        ({"credential": "999"}, "Unknown credential."),
        ({"extra_vars": "- a\n- b\n"}, "Variables must be a mapping"),
        ({"extra_vars": "ok: 1\n2bad: x\n"}, "Not a valid variable name: 2bad"),
    ],
)
def test_bad_input_is_refused_with_a_field_message(client, make, changes, message):
    response = _post_new(client, make, **changes)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'class="field has-error"' in page
    assert db.session.scalar(select(Job)) is None


def test_bad_yaml_in_extra_vars_shows_the_line(client, make):
    response = _post_new(client, make, extra_vars="colour: teal\nsize: [1, 2\n")

    assert response.status_code == 422
    assert "Invalid YAML at line 3" in response.get_data(as_text=True)


def test_duplicate_job_name(client, make):
    make.job("uptime")

    response = _post_new(client, make)

    assert response.status_code == 422
    assert "A job named uptime already exists." in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client, make):
    host = make.host()
    data = _form("", hosts=[str(host.id)])
    del data["csrf_token"]

    response = client.post("/jobs/new", data=data)

    assert response.status_code == 400
    assert _job("uptime") is None


# The job page and its Run button.


def test_job_page_shows_the_definition_and_recent_runs(client, make):
    playbook = make.playbook("site")
    job = make.job(
        "deploy", playbook=playbook, extra_vars={"release": "1.2"}, timeout=90
    )
    run = run_service.launch(job)

    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)

    assert f'action="/jobs/{job.id}/launch"' in page
    assert f'href="/playbooks/{playbook.id}"' in page
    assert job.hosts[0].name in page
    assert "release: &#39;1.2&#39;" in page
    assert "90 s" in page
    assert f'href="/runs/{run.id}"' in page
    assert f'href="/runs/?job={job.id}"' in page


def test_job_page_without_runs_says_to_press_run(client, make):
    job = make.job()

    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)

    assert "No run yet. Press Run to start one." in page


def test_hidden_and_missing_jobs_have_no_page(client, make):
    hidden = make.job(hidden=True)

    assert client.get(f"/jobs/{hidden.id}").status_code == 404
    assert client.get("/jobs/999").status_code == 404


def test_run_button_runs_the_job_and_shows_its_output(client, make, run_worker):
    job = make.job("hello", module="shell", args="echo hello-from-playdeck")

    response = client.post(
        f"/jobs/{job.id}/launch", data={"csrf_token": csrf_token(client)}
    )

    run = db.session.scalars(select(Run).where(Run.job_id == job.id)).one()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/runs/{run.id}"
    run_worker()
    assert run.status == RunStatus.SUCCESSFUL, run.error
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "hello-from-playdeck" in page
    assert f"Run {run.id} of hello queued." in page


def test_run_button_refused_shows_why_on_the_job_page(client, make):
    job = make.job("empty", hosts=[], groups=[make.group("nobody")])

    response = client.post(
        f"/jobs/{job.id}/launch",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=True,
    )

    assert response.request.path == f"/jobs/{job.id}"
    assert "This job targets no host." in response.get_data(as_text=True)
    assert db.session.scalar(select(Run)) is None


def test_run_button_needs_a_csrf_token(client, make):
    job = make.job()

    assert client.post(f"/jobs/{job.id}/launch").status_code == 400
    assert db.session.scalar(select(Run)) is None


# The service on its own, as a JSON API would call it.


@pytest.mark.all_databases
def test_service_reports_every_problem_at_once(app, make):
    with pytest.raises(ServiceError) as caught:
        job_service.create_job(
            name="",
            kind="adhoc",
            module="rm",
            forks=0,
            timeout=0,
            extra_vars={"bad name": 1},
        )

    assert set(caught.value.fields) == {
        "name",
        "module",
        "hosts",
        "forks",
        "timeout",
        "extra_vars",
    }
    assert caught.value.fields["module"] == "Unknown module: rm."


@pytest.mark.all_databases
def test_service_only_accepts_the_configured_modules(app, make):
    with_settings(app, adhoc_modules=("ping",))
    host = make.host()

    with pytest.raises(ServiceError, match="not saved") as caught:
        job_service.create_job(
            name="x", kind="adhoc", module="shell", args="id", host_ids=[host.id]
        )
    assert caught.value.fields == {"module": "Unknown module: shell."}

    job = job_service.create_job(
        name="x", kind="adhoc", module="ping", host_ids=[host.id]
    )
    assert job.module == "ping"


@pytest.mark.all_databases
def test_a_name_taken_meanwhile_is_a_field_error(app, make, monkeypatch):
    """The check passes, another request saved the same name, the commit fails."""
    make.job("uptime")
    host = make.host()
    real = job_service._name_taken
    calls = []

    def first_check_misses(name, job_id):
        calls.append(name)
        return False if len(calls) == 1 else real(name, job_id)

    monkeypatch.setattr(job_service, "_name_taken", first_check_misses)

    with pytest.raises(ServiceError) as caught:
        job_service.create_job(
            name="uptime", kind="adhoc", module="ping", host_ids=[host.id]
        )

    assert caught.value.fields == {"name": "A job named uptime already exists."}
    assert len(db.session.scalars(select(Job)).all()) == 1


@pytest.mark.all_databases
def test_update_switching_kind_drops_the_other_kind(app, make):
    job = make.job(module="shell", args="id")
    playbook = make.playbook()

    job_service.update_job(
        job,
        name=job.name,
        kind="playbook",
        module="shell",
        args="id",
        playbook_id=playbook.id,
        host_ids=[host.id for host in job.hosts],
    )

    assert (job.kind, job.module, job.args, job.playbook) == (
        "playbook",
        "",
        "",
        playbook,
    )


def test_every_problem_of_the_form_shows_at_once(client):
    response = client.post(
        "/jobs/new",
        data=_form(csrf_token(client), module="evil", forks="x", extra_vars="a: [1\n"),
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Invalid YAML at line 2" in page
    assert "Not a valid integer value." in page
    assert "Forks must be between" not in page  # one message for a field
    assert "Unknown module: evil." in page
    assert "Pick at least one host or group." in page
    assert "The job was not saved" in page
