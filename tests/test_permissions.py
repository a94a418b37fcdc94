"""The permission table: complete, written down, and what every route answers.

Every route of the app is asked by someone anonymous and by a viewer, an
operator and an admin; the answer must match the least role the table gives.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.auth.permissions import PERMISSIONS, PUBLIC
from app.models import Role, RunStatus
from app.services import tokens as token_service

from factories import Factory
from helpers import csrf_token, login

DOC = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"
ROLES = [None, Role.VIEWER, Role.OPERATOR, Role.ADMIN]
_ROW = re.compile(r"^\| `([a-z_.]+)` \| [^|]+ \| (anyone|viewer|operator|admin) \|$")


def _documented() -> dict[str, str]:
    rows = (_ROW.match(line) for line in DOC.read_text().splitlines())
    return {match[1]: match[2] for match in rows if match}


def _label(needed) -> str:
    return "anyone" if needed is PUBLIC else needed.value


def test_every_endpoint_has_a_line_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}

    missing = sorted(endpoints - PERMISSIONS.keys())

    assert not missing, f"add these endpoints to app/auth/permissions.py: {missing}"


def test_the_documented_matrix_is_the_table():
    documented = _documented()
    table = {endpoint: _label(needed) for endpoint, needed in PERMISSIONS.items()}

    assert documented == table


def test_an_endpoint_missing_from_the_table_is_refused(app, client):
    @app.get("/unlisted-for-test")
    def unlisted():
        return "should not be reached"

    assert client.get("/unlisted-for-test").status_code == 403


@pytest.fixture
def objects(make):
    """One of each thing a route can name, by the name of its URL argument."""
    host = make.host("web1")
    job = make.job(hosts=[host])
    run = _run(job)
    someone = make.user("someone", role="viewer")
    return {
        "host_id": host.id,
        "group_id": make.group("webservers", hosts=[host]).id,
        "credential_id": make.credential("deploy").id,
        "playbook_id": make.playbook().id,
        "job_id": job.id,
        "run_id": run.id,
        "user_id": someone.id,
        "token_id": token_service.create_token(someone, name="ci")[0].id,
        "schedule_id": _schedule(job).id,
        "rule_id": _rule().id,
        "check": "local_target",
        "filename": "app.css",
    }


def _schedule(job):
    from app.extensions import db
    from app.models import Schedule

    schedule = Schedule(job=job, kind="cron", cron="0 * * * *", timezone="UTC")
    db.session.add(schedule)
    db.session.commit()
    return schedule


def _rule():
    from app.services import guard

    return guard.create_rule(pattern="reboot", action="warn")


def _run(job):
    from app.extensions import db
    from app.models import Run

    run = Run(job=job, status=RunStatus.RUNNING, summary={})
    db.session.add(run)
    db.session.commit()
    return run


def _routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _ask(app, role, rule, method, objects):
    client = app.test_client()
    url = rule.build({arg: objects[arg] for arg in rule.arguments})[1]
    headers = {}
    if rule.endpoint.startswith("api."):
        # The API knows tokens only: a session, even an admin's, counts for nothing.
        login(client, "admin")
        if role is not None:
            owner = Factory().user(role=role.value)
            token = token_service.create_token(owner, name="test")[1]
            headers["Authorization"] = f"Bearer {token}"
        return client, client.open(url, method=method, json={}, headers=headers)
    if role is not None:
        login(client, role.value)
    if rule.endpoint == "runs.log":
        headers["HX-Request"] = "true"
        url += "?after=0"
    if method == "GET":
        return client, client.get(url, headers=headers)
    data = {"csrf_token": csrf_token(client)} if role is not None else {}
    return client, client.open(url, method=method, data=data, headers=headers)


def _refused_as_anonymous(response) -> bool:
    if response.status_code == 401:
        return True
    location = response.headers.get("Location", "")
    return response.status_code == 302 and location.startswith("/login")


def test_every_route_answers_each_role_as_the_table_says(app, objects):
    wrong = []
    for rule, method in _routes(app):
        needed = PERMISSIONS[rule.endpoint]
        for role in ROLES:
            client, response = _ask(app, role, rule, method, objects)
            response.close()
            if needed is PUBLIC:
                expected = "allowed"
            elif role is None:
                expected = "login"
            elif role.allows(needed):
                expected = "allowed"
            else:
                expected = "forbidden"

            if rule.endpoint == "auth.logout" and role is not None:
                # Logging out answers with the login page: it worked if the
                # session is gone.
                got = "allowed" if _refused_as_anonymous(client.get("/")) else "?"
            elif _refused_as_anonymous(response):
                got = "login"
            elif response.status_code == 403:
                got = "forbidden"
            else:
                got = "allowed"
            if got != expected:
                who = role.value if role else "anonymous"
                wrong.append(
                    f"{method} {rule.rule} as {who}: {response.status_code}, "
                    f"expected {expected}"
                )

    assert not wrong, "\n".join(wrong)
