"""API tokens: made and revoked on a page or at the command line, stored hashed,
expiring, acting with their owner's role."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import ApiToken, AuditEntry
from app.models.timeutil import utcnow
from app.services import ServiceError
from app.services import tokens as token_service

from helpers import csrf_token, login


def _make(client, **data):
    data.setdefault("csrf_token", csrf_token(client))
    return client.post("/account/tokens", data=data)


def _shown(response) -> str:
    return response.get_data(as_text=True).split("data-token>")[1].split("<")[0]


def test_a_user_makes_a_token_and_sees_it_once(app):
    client = app.test_client()
    user = login(client, "viewer")

    response = _make(client, name="deploy-script", expires_days="30")

    token = _shown(response)
    assert response.status_code == 200
    assert token.startswith("pdt_") and len(token) > 40
    assert token_service.user_for_token(token) == user
    listed = client.get("/account/tokens").get_data(as_text=True)
    assert "deploy-script" in listed
    assert token not in listed
    assert token[:10] in listed, "the start of the token tells it apart"


def test_tokens_are_stored_as_sha256_only(app, make):
    user = make.user("ann")

    row, token = token_service.create_token(user, name="ci")

    stored = db.session.get(ApiToken, row.id)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    columns = [str(getattr(stored, c.name)) for c in ApiToken.__table__.columns]
    assert not any(token in value for value in columns)
    entries = db.session.scalars(db.select(AuditEntry)).all()
    assert [entry.action for entry in entries] == ["token_create"]
    assert not any(token[4:12] in str(entry.__dict__) for entry in entries)


def test_a_token_form_with_bad_values_says_why(client):
    response = _make(client, name="", expires_days="0")

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Name the token after what uses it" in body
    assert "A token lasts from 1 to 3650 days" in body
    assert "data-token>" not in body


def test_an_expired_token_is_refused(app, make):
    row, token = token_service.create_token(make.user("ann"), name="ci", expires_days=1)

    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    assert token_service.user_for_token(token) is None


def test_a_deactivated_users_tokens_stop(app, make):
    user = make.user("ann")
    _row, token = token_service.create_token(user, name="ci")

    user.active = False
    db.session.commit()

    assert token_service.user_for_token(token) is None


@pytest.mark.parametrize("token", ["", "pdt_", "pdt_not-a-token", "Bearer x"])
def test_unknown_tokens_are_refused(app, token):
    assert token_service.user_for_token(token) is None


def test_use_is_noted_at_most_once_a_minute(app, make):
    row, token = token_service.create_token(make.user("ann"), name="ci")

    token_service.user_for_token(token)
    first = db.session.get(ApiToken, row.id).last_used_at
    token_service.user_for_token(token)

    assert first is not None
    assert db.session.get(ApiToken, row.id).last_used_at == first


def test_revoking_a_token_stops_it_and_is_recorded(app):
    client = app.test_client()
    user = login(client, "operator")
    row, token = token_service.create_token(user, name="ci")

    response = client.post(
        f"/account/tokens/{row.id}/revoke", data={"csrf_token": csrf_token(client)}
    )

    assert response.status_code == 302
    assert token_service.user_for_token(token) is None
    assert db.session.get(ApiToken, row.id) is None
    revoked = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "token_revoke")
    ).one()
    assert revoked.summary == f"API token ci of {user.username} revoked"
    assert revoked.username == user.username


def test_nobody_revokes_someone_elses_token(app, make):
    owner = make.user("ann")
    row, token = token_service.create_token(owner, name="ci")
    client = app.test_client()
    login(client, "admin")

    response = client.post(
        f"/account/tokens/{row.id}/revoke", data={"csrf_token": csrf_token(client)}
    )

    assert response.status_code == 404
    assert token_service.user_for_token(token) == owner


def test_the_command_line_prints_a_token_once(app, make):
    ann = make.user("ann", role="operator")

    result = app.test_cli_runner().invoke(
        args=["users", "create-token", "ann", "--expires-days", "7"]
    )

    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token_service.user_for_token(token) == ann
    row = db.session.scalars(db.select(ApiToken)).one()
    assert row.name == "command line"
    assert 6 <= (row.expires_at - utcnow()).days <= 7


def test_the_command_line_refuses_an_unknown_user(app):
    result = app.test_cli_runner().invoke(args=["users", "create-token", "nobody"])

    assert result.exit_code == 1
    assert "No active user named nobody." in result.output


def test_token_names_are_checked(app, make):
    with pytest.raises(ServiceError) as refused:
        token_service.create_token(make.user("ann"), name="x" * 101)

    assert refused.value.fields == {"name": "Use at most 100 characters."}
