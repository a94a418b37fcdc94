"""Credentials: the secrets Ansible uses to connect to hosts and to become root.

A secret arrives here in clear, is encrypted (`app.crypto`) before it reaches the
session, and never leaves this module again: no return value, error message or
log line carries it. Only the worker decrypts it, for the lifetime of a run.
"""

from __future__ import annotations

import base64
import binascii
import logging

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.crypto import encrypt
from app.extensions import db
from app.models import AuditAction, Credential, CredentialKind, Job
from app.services import ServiceError

log = logging.getLogger(__name__)

DUPLICATE_NAME = "A credential with this name already exists."
# Characters of a secret; a private key of any common kind fits many times.
MAX_SECRET = 64 * 1024
_KEY_MARK = "PRIVATE KEY-----"
_OPENSSH_MAGIC = b"openssh-key-v1\x00"


def credentials_query() -> Select[tuple[Credential]]:
    """Credentials by name, as a query that pages can paginate."""
    return select(Credential).order_by(Credential.name)


def all_credentials() -> list[Credential]:
    """Every credential by name, for the choices of a form."""
    return list(db.session.scalars(credentials_query()))


def create_credential(
    *,
    name: str,
    kind: str,
    username: str = "",
    secret: str,
    become_password: str | None = None,
) -> Credential:
    """Add a credential. The secret is required; an empty become password is none."""
    errors: dict[str, str] = {}
    values = _checked(None, name, kind, username, errors)
    secret_text = _checked_secret(values["kind"], secret, errors, required=True)
    _check_become_password(become_password, errors)
    if errors:
        raise ServiceError("The credential was not saved.", errors)

    credential = Credential(
        **values,
        secret_encrypted=encrypt(secret_text),
        become_password_encrypted=encrypt(become_password) if become_password else None,
    )
    db.session.add(credential)
    _commit()
    log.info(
        "credential %s created id=%s kind=%s become_password=%s",
        credential.name,
        credential.id,
        credential.kind,
        credential.has_become_password,
    )
    audit.record(
        AuditAction.CREATE,
        credential,
        f"credential {credential.name} added",
        changes=_view(credential),
    )
    return credential


def update_credential(
    credential: Credential,
    *,
    name: str,
    kind: str,
    username: str,
    secret: str | None = None,
    become_password: str | None = None,
    remove_become_password: bool = False,
) -> Credential:
    """Change a credential. An empty or None secret or become password keeps the
    stored one, since pages never show it back; `remove_become_password` drops it.
    """
    errors: dict[str, str] = {}
    values = _checked(credential, name, kind, username, errors)
    secret_text = _checked_secret(values["kind"], secret, errors, required=False)
    keeps_secret = not secret or not secret.strip()
    if keeps_secret and "kind" not in errors and values["kind"] != credential.kind:
        # The kept secret was checked for the old kind: a password is no key.
        errors["secret"] = "Enter the secret again when you change the kind."
    _check_become_password(become_password, errors)
    if become_password and remove_become_password:
        errors["become_password"] = (
            "Either enter a new become password or remove it, not both."
        )
    if errors:
        raise ServiceError("The credential was not saved.", errors)

    before = _view(credential)
    for key, value in values.items():
        setattr(credential, key, value)
    if secret_text is not None:
        credential.secret_encrypted = encrypt(secret_text)
    if remove_become_password:
        credential.become_password_encrypted = None
    elif become_password:
        credential.become_password_encrypted = encrypt(become_password)
    _commit()
    log.info(
        "credential %s updated id=%s secret_replaced=%s become_password=%s",
        credential.name,
        credential.id,
        secret_text is not None,
        credential.has_become_password,
    )
    changes = audit.changed(before, _view(credential))
    if secret_text is not None:
        changes["secret_replaced"] = True
    audit.record(
        AuditAction.UPDATE,
        credential,
        f"credential {credential.name} changed: {', '.join(changes) or 'nothing'}",
        changes=changes,
    )
    return credential


def delete_credential(credential: Credential) -> int:
    """Remove a credential; returns how many jobs used it.

    Those jobs stay, without a credential (ON DELETE SET NULL): their next run
    connects as the worker's own user unless someone picks another credential.
    """
    jobs = len(jobs_using(credential))
    name, credential_id = credential.name, credential.id
    gone = audit.ref(credential)

    db.session.delete(credential)
    db.session.commit()
    log.info("credential %s deleted id=%s jobs=%s", name, credential_id, jobs)
    audit.record(AuditAction.DELETE, gone, f"credential {name} deleted")
    return jobs


def jobs_using(credential: Credential) -> list[Job]:
    """The jobs, by name, that connect with this credential (quick commands aside)."""
    return list(
        db.session.scalars(
            select(Job)
            .where(Job.credential_id == credential.id, Job.hidden.is_(False))
            .order_by(Job.name)
        )
    )


def _view(credential: Credential) -> dict[str, object]:
    """What the audit trail keeps of a credential: never the secrets, only
    whether a become password is set."""
    return {
        "name": credential.name,
        "kind": credential.kind,
        "username": credential.username,
        "has_become_password": credential.has_become_password,
    }


def _checked(
    credential: Credential | None,
    name: str,
    kind: str,
    username: str,
    errors: dict[str, str],
) -> dict[str, str]:
    """The credential's plain columns; refusals go into `errors` by field.

    The secret is checked afterwards, against the kind returned here, so that one
    answer reports every refused field.
    """
    name = (name or "").strip()
    username = (username or "").strip()

    if not name:
        errors["name"] = "Give the credential a name."
    elif len(name) > 255:
        errors["name"] = "Use at most 255 characters."
    elif _name_taken(name, credential):
        errors["name"] = DUPLICATE_NAME

    if kind not in {choice.value for choice in CredentialKind}:
        choices = ", ".join(choice.value for choice in CredentialKind)
        errors["kind"] = f"Choose one of: {choices}."
        kind = CredentialKind.PASSWORD  # so the secret can still be checked

    if len(username) > 255 or any(char.isspace() for char in username):
        errors["username"] = "A user name has no spaces and at most 255 characters."

    return {"name": name, "kind": CredentialKind(kind).value, "username": username}


def _checked_secret(
    kind: str, secret: str | None, errors: dict[str, str], required: bool
) -> str | None:
    """The secret as it will be stored, or None when none was given.

    Refusals go into `errors` under "secret"; their words never quote the secret.
    """
    if not secret or not secret.strip():
        if required:
            errors["secret"] = (
                "Paste the private key."
                if kind == CredentialKind.SSH_KEY
                else "Enter the password."
            )
        return None
    if len(secret) > MAX_SECRET:
        errors["secret"] = f"A secret has at most {MAX_SECRET} characters."
        return None
    if kind != CredentialKind.SSH_KEY:
        return secret

    # Browsers send a textarea with CRLF line ends, which OpenSSH refuses to read.
    key = secret.replace("\r\n", "\n").replace("\r", "\n").strip() + "\n"
    if _KEY_MARK not in key:
        errors["secret"] = (
            "This is not a private key: it should start with "
            "'-----BEGIN ... PRIVATE KEY-----'."
        )
        return None
    if _has_passphrase(key):
        # Ansible would wait for someone to type the passphrase until the run
        # times out.
        errors["secret"] = (
            "This key is protected by a passphrase, which runs cannot type. "
            "Use a key without one (ssh-keygen -p removes it from a copy)."
        )
        return None
    return key


def _check_become_password(value: str | None, errors: dict[str, str]) -> None:
    if value and len(value) > MAX_SECRET:
        errors["become_password"] = f"A password has at most {MAX_SECRET} characters."


def _has_passphrase(key: str) -> bool:
    """Whether a private key is encrypted, in the PEM or the OpenSSH format.

    An OpenSSH key names its cipher right after the magic bytes ("none" when it
    is not encrypted); PEM keys say ENCRYPTED in their header. A key we cannot
    decode counts as not encrypted: ssh will say more than we could.
    """
    lines = key.strip().splitlines()
    headers = [line for line in lines if line.startswith("-----") or ":" in line]
    if any("ENCRYPTED" in line for line in headers):
        return True
    if not lines or "OPENSSH PRIVATE KEY" not in lines[0]:
        return False
    try:
        body = base64.b64decode("".join(lines[1:-1]))
    except (binascii.Error, ValueError):
        return False
    if not body.startswith(_OPENSSH_MAGIC):
        return False
    start = len(_OPENSSH_MAGIC)
    length = int.from_bytes(body[start : start + 4], "big")
    cipher = body[start + 4 : start + 4 + length]
    return cipher != b"none"


def _name_taken(name: str, credential: Credential | None) -> bool:
    query = select(Credential.id).where(Credential.name == name)
    if credential is not None and credential.id is not None:
        query = query.where(Credential.id != credential.id)
    return db.session.scalar(query) is not None


def _commit() -> None:
    """Commit, turning a unique-name race with another request into a field error.

    Only the database's own message is logged: the statement's parameters hold
    the encrypted secret.
    """
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        log.warning("credential not saved: %s", exc.orig)
        raise ServiceError(
            "The credential was not saved.", {"name": DUPLICATE_NAME}
        ) from exc
