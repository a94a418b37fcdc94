"""Credential pages and the credential service.

The secret must be stored encrypted and never come back: not in a page, not in a
form value, not in a log line.
"""

from __future__ import annotations

import logging
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from sqlalchemy import text

from app.crypto import decrypt
from app.extensions import db
from app.models import Credential, Job
from app.services import ServiceError
from app.services import credentials as credential_service

from helpers import csrf_token, with_settings

PASSWORD = "correct-horse-battery-staple"
BECOME = "sudo-pass-8472"


def _private_key() -> str:
    """A fresh ed25519 key in OpenSSH's format, without a passphrase."""
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


def _key_body(key: str) -> str:
    """A line from the middle of a key: what must never show up anywhere."""
    return key.splitlines()[2]


def _post(client, url: str, **data):
    data.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=data)


def _stored(credential_id: int, column: str) -> bytes | None:
    """A column's bytes as the database holds them, bypassing the model."""
    value = db.session.execute(
        text(f"SELECT {column} FROM credential WHERE id = :id"), {"id": credential_id}
    ).scalar_one()
    return bytes(value) if value is not None else None


def _one() -> Credential:
    return db.session.scalar(db.select(Credential))


def _pages(client, credential_id: int) -> list[str]:
    return [
        client.get(url).get_data(as_text=True)
        for url in (
            "/credentials/",
            f"/credentials/{credential_id}",
            f"/credentials/{credential_id}/edit",
        )
    ]


# The list


def test_empty_list_says_what_to_do(client):
    page = client.get("/credentials/")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "No credential yet." in body
    assert 'href="/credentials/new"' in body


def test_list_shows_whether_secrets_are_set(client, make):
    make.credential("deploy-key", kind="ssh_key", secret=_private_key())
    make.credential("root", secret=PASSWORD, become_password=BECOME)

    body = client.get("/credentials/").get_data(as_text=True)

    assert body.index("deploy-key") < body.index("root")
    assert "set" in body and "not set" in body
    assert PASSWORD not in body and BECOME not in body


def test_list_is_paginated(app, client, make):
    with_settings(app, page_size=1)
    make.credential("alpha")
    make.credential("beta")

    first = client.get("/credentials/").get_data(as_text=True)
    second = client.get("/credentials/?page=2").get_data(as_text=True)

    assert "alpha" in first and "beta" not in first
    assert "beta" in second


# Creating


def test_create_ssh_key_stores_it_encrypted_and_never_shows_it(client):
    key = _private_key()

    response = _post(
        client,
        "/credentials/new",
        name="deploy key",
        kind="ssh_key",
        username="deploy",
        private_key=key,
        become_password=BECOME,
    )

    credential = _one()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/credentials/{credential.id}"
    assert credential.kind == "ssh_key"
    assert credential.username == "deploy"

    secret = _stored(credential.id, "secret_encrypted")
    become = _stored(credential.id, "become_password_encrypted")
    assert _key_body(key).encode() not in secret
    assert b"PRIVATE KEY" not in secret
    assert BECOME.encode() not in become
    assert decrypt(secret) == key
    assert decrypt(become) == BECOME

    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Credential deploy key added." in shown
    for page in [shown, *_pages(client, credential.id)]:
        assert _key_body(key) not in page
        assert "-----END OPENSSH PRIVATE KEY-----" not in page
        assert BECOME not in page


def test_create_password_credential(client):
    response = _post(
        client,
        "/credentials/new",
        name="root",
        kind="password",
        username="root",
        password=PASSWORD,
    )

    credential = _one()
    assert response.status_code == 302
    assert decrypt(credential.secret_encrypted) == PASSWORD
    assert PASSWORD.encode() not in _stored(credential.id, "secret_encrypted")
    assert credential.become_password_encrypted is None
    for page in _pages(client, credential.id):
        assert PASSWORD not in page


def test_pasted_key_gets_unix_line_ends(client):
    """Browsers send textareas with CRLF, which OpenSSH refuses to read."""
    key = _private_key()

    _post(
        client,
        "/credentials/new",
        name="deploy",
        kind="ssh_key",
        private_key="\n" + key.strip().replace("\n", "\r\n"),
    )

    stored = decrypt(_one().secret_encrypted)
    assert stored == key
    assert "\r" not in stored


def test_ssh_key_that_is_not_a_key_is_refused(client):
    response = _post(
        client,
        "/credentials/new",
        name="deploy",
        kind="ssh_key",
        private_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 me@laptop",
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This is not a private key" in body
    assert "AAAAC3NzaC1lZDI1NTE5" not in body
    assert _one() is None


def test_key_with_a_pem_passphrase_is_refused(client):
    key = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
        .decode()
    )

    response = _post(
        client, "/credentials/new", name="deploy", kind="ssh_key", private_key=key
    )

    assert response.status_code == 422
    assert "protected by a passphrase" in response.get_data(as_text=True)
    assert _one() is None


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_key_with_an_openssh_passphrase_is_refused(client, tmp_path):
    path = tmp_path / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "passphrase", "-f", str(path)],
        check=True,
    )

    response = _post(
        client,
        "/credentials/new",
        name="deploy",
        kind="ssh_key",
        private_key=path.read_text(),
    )

    assert response.status_code == 422
    assert "protected by a passphrase" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("kind", "message"),
    [("ssh_key", "Paste the private key."), ("password", "Enter the password.")],
)
def test_secret_is_required_on_create(client, kind, message):
    response = _post(client, "/credentials/new", name="deploy", kind=kind)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _one() is None


def test_refused_form_does_not_send_the_secret_back(client, make):
    make.credential("deploy")
    key = _private_key()

    response = _post(
        client,
        "/credentials/new",
        name="deploy",
        kind="ssh_key",
        private_key=key,
        password=PASSWORD,
        become_password=BECOME,
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "A credential with this name already exists." in body
    assert _key_body(key) not in body
    assert PASSWORD not in body
    assert BECOME not in body


def test_user_name_has_no_spaces(client):
    response = _post(
        client,
        "/credentials/new",
        name="deploy",
        kind="password",
        username="de ploy",
        password=PASSWORD,
    )

    assert response.status_code == 422
    assert "A user name has no spaces" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client, make):
    credential = make.credential("deploy")

    create = client.post(
        "/credentials/new",
        data={"name": "root", "kind": "password", "password": PASSWORD},
    )
    delete = client.post(f"/credentials/{credential.id}/delete")

    assert create.status_code == 400
    assert delete.status_code == 400
    assert [row.name for row in credential_service.all_credentials()] == ["deploy"]


# Editing


def test_edit_form_shows_no_secret(client, make):
    key = _private_key()
    credential = make.credential(
        "deploy", kind="ssh_key", secret=key, become_password=BECOME
    )

    body = client.get(f"/credentials/{credential.id}/edit").get_data(as_text=True)

    assert 'value="deploy"' in body
    assert "Leave empty to keep the current one." in body
    assert "Remove the become password" in body
    assert _key_body(key) not in body
    assert BECOME not in body


def test_edit_with_empty_secrets_keeps_them(client, make):
    credential = make.credential("deploy", secret=PASSWORD, become_password=BECOME)

    response = _post(
        client,
        f"/credentials/{credential.id}/edit",
        name="deploy-renamed",
        kind="password",
        username="admin",
        password="",
        become_password="",
    )

    db.session.expire_all()
    assert response.status_code == 302
    assert credential.name == "deploy-renamed"
    assert credential.username == "admin"
    assert decrypt(credential.secret_encrypted) == PASSWORD
    assert decrypt(credential.become_password_encrypted) == BECOME


def test_edit_with_new_secrets_replaces_them(client, make):
    credential = make.credential("deploy", secret=PASSWORD, become_password=BECOME)

    response = _post(
        client,
        f"/credentials/{credential.id}/edit",
        name="deploy",
        kind="password",
        password="new-password-1",
        become_password="new-become-2",
    )

    db.session.expire_all()
    assert response.status_code == 302
    assert decrypt(credential.secret_encrypted) == "new-password-1"
    assert decrypt(credential.become_password_encrypted) == "new-become-2"
    assert b"new-password-1" not in _stored(credential.id, "secret_encrypted")


def test_edit_removes_the_become_password(client, make):
    credential = make.credential("deploy", become_password=BECOME)

    response = _post(
        client,
        f"/credentials/{credential.id}/edit",
        name="deploy",
        kind="password",
        remove_become_password="y",
    )

    db.session.expire_all()
    assert response.status_code == 302
    assert credential.become_password_encrypted is None
    assert "not set" in client.get(f"/credentials/{credential.id}").get_data(
        as_text=True
    )


def test_edit_refuses_a_new_become_password_that_is_also_removed(client, make):
    credential = make.credential("deploy", become_password=BECOME)

    response = _post(
        client,
        f"/credentials/{credential.id}/edit",
        name="deploy",
        kind="password",
        become_password="another",
        remove_become_password="y",
    )

    db.session.expire_all()
    assert response.status_code == 422
    assert "not both" in response.get_data(as_text=True)
    assert decrypt(credential.become_password_encrypted) == BECOME


def test_changing_the_kind_needs_the_secret_again(client, make):
    credential = make.credential("deploy", kind="password", secret=PASSWORD)

    kept = _post(
        client, f"/credentials/{credential.id}/edit", name="deploy", kind="ssh_key"
    )
    key = _private_key()
    given = _post(
        client,
        f"/credentials/{credential.id}/edit",
        name="deploy",
        kind="ssh_key",
        private_key=key,
    )

    assert kept.status_code == 422
    assert "Enter the secret again" in kept.get_data(as_text=True)
    assert given.status_code == 302
    db.session.expire_all()
    assert credential.kind == "ssh_key"
    assert decrypt(credential.secret_encrypted) == key


def test_edit_refuses_a_bad_key(client, make):
    key = _private_key()
    credential = make.credential("deploy", kind="ssh_key", secret=key)

    response = _post(
        client,
        f"/credentials/{credential.id}/edit",
        name="deploy",
        kind="ssh_key",
        private_key="not a key",
    )

    db.session.expire_all()
    assert response.status_code == 422
    assert "This is not a private key" in response.get_data(as_text=True)
    assert decrypt(credential.secret_encrypted) == key


def test_unknown_credential_is_404(client):
    assert client.get("/credentials/999").status_code == 404
    assert client.get("/credentials/999/edit").status_code == 404


# Deleting


def test_delete_credential_warns_about_the_jobs_that_used_it(client, make):
    credential = make.credential("deploy")
    jobs = [make.job(credential=credential) for _ in range(2)]

    response = _post(client, f"/credentials/{credential.id}/delete")

    assert response.status_code == 302
    assert response.headers["Location"] == "/credentials/"
    db.session.expire_all()
    assert _one() is None
    assert [job.credential_id for job in jobs] == [None, None]
    page = client.get("/credentials/").get_data(as_text=True)
    assert "Credential deploy deleted. It was used by 2 jobs" in page


def test_delete_unused_credential(client, make):
    credential = make.credential("deploy")

    _post(client, f"/credentials/{credential.id}/delete")

    page = client.get("/credentials/").get_data(as_text=True)
    assert "Credential deploy deleted." in page
    assert "It was used by" not in page


def test_delete_form_asks_for_confirmation_even_with_quotes_in_the_name(client, make):
    credential = make.credential("Ann's key")

    body = client.get(f"/credentials/{credential.id}").get_data(as_text=True)

    assert f'action="/credentials/{credential.id}/delete"' in body
    assert 'data-confirm="Delete credential Ann&#39;s key?' in body


# The service, on every database


@pytest.mark.all_databases
def test_service_never_logs_the_secret(app, caplog):
    caplog.set_level(logging.DEBUG)

    credential = credential_service.create_credential(
        name="deploy", kind="password", secret=PASSWORD, become_password=BECOME
    )
    credential_service.update_credential(
        credential,
        name="deploy",
        kind="password",
        username="",
        secret="another-secret-991",
    )
    with pytest.raises(ServiceError) as caught:
        credential_service.create_credential(
            name="deploy", kind="password", secret="third-secret-114"
        )

    assert "deploy" in caplog.text
    for secret in (PASSWORD, BECOME, "another-secret-991", "third-secret-114"):
        assert secret not in caplog.text
        assert secret not in str(caught.value.fields)


@pytest.mark.all_databases
def test_a_name_taken_meanwhile_is_a_field_error_too(app, monkeypatch):
    credential_service.create_credential(name="deploy", kind="password", secret="a")
    monkeypatch.setattr(credential_service, "_name_taken", lambda name, row: False)

    with pytest.raises(ServiceError) as caught:
        credential_service.create_credential(name="deploy", kind="password", secret="b")

    assert caught.value.fields == {
        "name": "A credential with this name already exists."
    }


@pytest.mark.all_databases
def test_service_reports_every_refused_field_at_once(app):
    with pytest.raises(ServiceError) as caught:
        credential_service.create_credential(
            name="", kind="token", username="a b", secret=""
        )

    assert set(caught.value.fields) == {"name", "kind", "username", "secret"}


@pytest.mark.all_databases
def test_delete_counts_the_jobs_that_used_it(app, make):
    credential = make.credential("deploy")
    make.job(credential=credential)
    make.job(credential=credential, hidden=True)  # a quick command: not counted
    make.job()

    assert credential_service.delete_credential(credential) == 1
    assert (
        db.session.scalar(
            db.select(db.func.count())
            .select_from(Job)
            .where(Job.credential_id.is_(None))
        )
        == 3
    )
