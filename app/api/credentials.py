"""/api/v1/credentials: secrets go in, never come out."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for

from app.api import bp
from app.api.common import get_or_404, page_of, refused
from app.api.schema import ID, Field, body, crud_paths
from app.models import Credential, CredentialKind
from app.services import ServiceError
from app.services import credentials as credential_service

CREDENTIAL = {
    "id": ID,
    "name": Field("string", "Its name.", required=True, extra={"maxLength": 255}),
    "kind": Field(
        "string",
        "ssh_key (an SSH private key) or password.",
        required=True,
        extra={"enum": [kind.value for kind in CredentialKind]},
    ),
    "username": Field(
        "string", "The user to connect as.", extra={"maxLength": 255, "default": ""}
    ),
    "secret": Field(
        "string",
        "The private key or the password. Write-only: never answered. Left out "
        "of a PATCH, the stored one stays.",
        required=True,
        write_only=True,
        extra={"maxLength": credential_service.MAX_SECRET},
    ),
    "become_password": Field(
        "string",
        "The password to become root, if any. Write-only. In a PATCH, null "
        "removes it and leaving it out keeps it.",
        nullable=True,
        write_only=True,
        extra={"maxLength": credential_service.MAX_SECRET},
    ),
    "has_become_password": Field(
        "boolean", "Whether a become password is stored.", read_only=True
    ),
}


def credential_json(credential: Credential) -> dict[str, Any]:
    return {
        "id": credential.id,
        "name": credential.name,
        "kind": credential.kind,
        "username": credential.username,
        "has_become_password": credential.has_become_password,
    }


@bp.get("/credentials")
def credentials_list():
    return jsonify(page_of(credential_service.credentials_query(), credential_json))


@bp.post("/credentials")
def credential_create():
    data = body(CREDENTIAL, create=True)
    try:
        credential = credential_service.create_credential(
            name=data["name"],
            kind=data["kind"],
            username=data.get("username") or "",
            secret=data["secret"],
            become_password=data.get("become_password") or None,
        )
    except ServiceError as error:
        raise refused(error) from error
    location = url_for("api.credential_get", credential_id=credential.id)
    return jsonify(credential_json(credential)), 201, {"Location": location}


@bp.get("/credentials/<int:credential_id>")
def credential_get(credential_id: int):
    return jsonify(credential_json(get_or_404(Credential, credential_id, "credential")))


@bp.patch("/credentials/<int:credential_id>")
def credential_update(credential_id: int):
    credential = get_or_404(Credential, credential_id, "credential")
    changes = body(CREDENTIAL)
    data = {**credential_json(credential), **changes}
    try:
        credential_service.update_credential(
            credential,
            name=data["name"],
            kind=data["kind"],
            username=data["username"] or "",
            secret=data.get("secret") or None,
            become_password=data.get("become_password") or None,
            remove_become_password="become_password" in changes
            and changes["become_password"] is None,
        )
    except ServiceError as error:
        raise refused(error) from error
    return jsonify(credential_json(credential))


@bp.delete("/credentials/<int:credential_id>")
def credential_delete(credential_id: int):
    credential_service.delete_credential(
        get_or_404(Credential, credential_id, "credential")
    )
    return "", 204


SCHEMAS = {"Credential": CREDENTIAL}
PATHS = crud_paths("credentials", "credential", "Credential", who="admin")
