"""/healthz and /readyz, and what pages answer while Redis does not."""

from __future__ import annotations

import pytest
from rq import Worker

from app.extensions import db
from app.models import Run, RunStatus
from app.queue import redis_connection, run_queue
from app.services import runs

from helpers import csrf_token, with_settings

# Nothing listens on port 1: connections are refused at once.
DEAD_REDIS = "redis://127.0.0.1:1/0"


def _worker_alive() -> Worker:
    worker = Worker([run_queue()], connection=redis_connection())
    worker.register_birth()
    return worker


def test_healthz_answers_without_login_and_without_the_database(
    app, anon_client, monkeypatch
):
    monkeypatch.setattr(db, "session", None)  # any use of it would raise

    answer = anon_client.get("/healthz")

    assert answer.status_code == 200
    assert answer.json == {"status": "ok"}


def test_readyz_is_ready_with_database_redis_and_a_worker(app, anon_client):
    _worker_alive()

    answer = anon_client.get("/readyz")

    assert answer.status_code == 200
    assert answer.json["status"] == "ready"
    assert answer.json["failed"] == []
    assert answer.json["checks"]["workers"] == {"ok": True, "detail": "1 alive"}


def test_readyz_says_no_worker_is_alive(app, anon_client):
    answer = anon_client.get("/readyz")

    assert answer.status_code == 503
    assert answer.json["failed"] == ["workers"]
    assert "no worker" in answer.json["checks"]["workers"]["detail"]


def test_readyz_says_redis_does_not_answer(app, anon_client):
    _worker_alive()
    with_settings(app, redis_url=DEAD_REDIS)

    answer = anon_client.get("/readyz")

    assert answer.status_code == 503
    assert answer.json["failed"] == ["redis", "workers"]
    assert answer.json["checks"]["database"]["ok"] is True


def test_readyz_says_the_database_does_not_answer(app, anon_client, monkeypatch):
    _worker_alive()

    def broken(*args, **kwargs):
        from sqlalchemy.exc import OperationalError

        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", broken)
    answer = anon_client.get("/readyz")

    assert answer.status_code == 503
    assert answer.json["failed"] == ["database"]
    # Anyone may ask: the driver's words (host, user, database) stay in the log.
    assert "connection refused" not in answer.get_data(as_text=True)
    assert answer.json["checks"]["database"]["detail"].startswith(
        "the database does not answer"
    )


@pytest.mark.all_databases
def test_a_launch_while_redis_is_down_answers_503_and_keeps_the_run(app, client, make):
    job = make.job()
    token = csrf_token(client)
    with_settings(app, redis_url=DEAD_REDIS)

    answer = client.post(f"/jobs/{job.id}/launch", data={"csrf_token": token})

    assert answer.status_code == 503
    assert "Redis does not answer" in answer.get_data(as_text=True)
    run = db.session.query(Run).filter_by(job_id=job.id).one()
    assert run.status == RunStatus.ERROR
    assert "could not be queued" in run.error


def test_a_quick_command_while_redis_is_down_answers_503(app, client, make):
    host = make.host()
    token = csrf_token(client)
    with_settings(app, redis_url=DEAD_REDIS)

    answer = client.post(
        "/quick/new",
        data={"csrf_token": token, "module": "ping", "hosts": [host.id]},
    )

    assert answer.status_code == 503
    assert db.session.query(Run).one().status == RunStatus.ERROR


def test_a_cancel_while_redis_is_down_answers_503_and_changes_nothing(
    app, client, make
):
    run = runs.launch(make.job())
    token = csrf_token(client)
    with_settings(app, redis_url=DEAD_REDIS)

    plain = client.post(
        f"/runs/{run.id}/cancel", data={"csrf_token": token, "confirmed": "yes"}
    )
    htmx = client.post(
        f"/runs/{run.id}/cancel",
        headers={"HX-Request": "true", "X-CSRFToken": token},
        environ_base={"HTTP_REFERER": f"http://localhost/runs/{run.id}"},
    )

    assert plain.status_code == 503
    assert "cannot be told to stop" in plain.get_data(as_text=True)
    assert htmx.status_code == 503
    assert htmx.headers["HX-Redirect"] == f"http://localhost/runs/{run.id}"
    db.session.expire_all()
    assert db.session.get(Run, run.id).status == RunStatus.QUEUED
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "cannot be told to stop" in page, "the message waits on the page"


def test_pages_with_buttons_that_need_redis_show_a_banner(app, client, make):
    run = runs.launch(make.job())
    with_settings(app, redis_url=DEAD_REDIS)

    for url in (f"/runs/{run.id}", f"/jobs/{run.job_id}", "/quick/new"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "data-redis-down" in page.get_data(as_text=True), url
    assert "data-redis-down" not in client.get("/hosts/").get_data(as_text=True)


def test_no_banner_while_redis_answers(client, make):
    run = runs.launch(make.job())

    assert "data-redis-down" not in client.get(f"/runs/{run.id}").get_data(as_text=True)
