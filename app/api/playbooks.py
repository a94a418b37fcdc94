"""/api/v1/playbooks: stored Ansible projects, their files as name -> text."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.api import bp
from app.api.common import get_or_404, page_of, refused
from app.api.schema import ID, Field, body, crud_paths
from app.models import Playbook
from app.services import ServiceError
from app.services import playbooks as playbook_service

PLAYBOOK = {
    "id": ID,
    "name": Field("string", "Its name.", required=True, extra={"maxLength": 255}),
    "entry": Field(
        "string",
        "The file ansible-playbook is given; one of `files`.",
        required=True,
        extra={"maxLength": 255},
    ),
    "files": Field(
        "object",
        "The project's files: relative path -> text.",
        required=True,
        extra={"additionalProperties": {"type": "string"}},
    ),
}


def playbook_json(playbook: Playbook) -> dict[str, Any]:
    return {
        "id": playbook.id,
        "name": playbook.name,
        "entry": playbook.entry,
        "files": {file.name: file.content for file in playbook.files},
    }


def _save(data: dict[str, Any], playbook: Playbook | None) -> Playbook:
    """Create or update; the service's `files.<index>.*` errors name the file."""
    pairs = list(data["files"].items())
    aliases = {
        f"files.{index}.{part}": f"files.{name}"
        for index, (name, _) in enumerate(pairs)
        for part in ("name", "content")
    }
    values = {"name": data["name"], "entry": data["entry"], "files": pairs}
    try:
        if playbook is None:
            return playbook_service.create_playbook(**values)
        return playbook_service.update_playbook(playbook, **values)
    except ServiceError as error:
        raise refused(error, aliases) from error


@bp.get("/playbooks")
def playbooks_list():
    query = (
        select(Playbook).options(selectinload(Playbook.files)).order_by(Playbook.name)
    )
    return jsonify(page_of(query, playbook_json))


@bp.post("/playbooks")
def playbook_create():
    playbook = _save(body(PLAYBOOK, create=True), None)
    location = url_for("api.playbook_get", playbook_id=playbook.id)
    return jsonify(playbook_json(playbook)), 201, {"Location": location}


@bp.get("/playbooks/<int:playbook_id>")
def playbook_get(playbook_id: int):
    return jsonify(playbook_json(get_or_404(Playbook, playbook_id, "playbook")))


@bp.patch("/playbooks/<int:playbook_id>")
def playbook_update(playbook_id: int):
    playbook = get_or_404(Playbook, playbook_id, "playbook")
    _save({**playbook_json(playbook), **body(PLAYBOOK)}, playbook)
    return jsonify(playbook_json(playbook))


@bp.delete("/playbooks/<int:playbook_id>")
def playbook_delete(playbook_id: int):
    try:
        playbook_service.delete_playbook(get_or_404(Playbook, playbook_id, "playbook"))
    except ServiceError as error:
        raise refused(error) from error
    return "", 204


SCHEMAS = {"Playbook": PLAYBOOK}
PATHS = crud_paths("playbooks", "playbook", "Playbook", who="operator", conflict=True)
