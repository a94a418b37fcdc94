"""An upload job's fields in /api/v1/jobs: its destination, owner and mode, and
its files, sent as base64 in JSON (`file_contents`) and listed by name and size
(`files`).

JSON rather than multipart: the jobs' routes take and give JSON only, and the
OpenAPI document describes one body per route. Base64 makes a file a third
bigger on the wire; the size limits count the decoded bytes.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from app.api.schema import ApiError, Field
from app.models import Job, JobKind
from app.services.uploads import DEFAULT_MODE, MAX_DEST, NewFile, UploadInput

FIELDS = {
    "dest": Field(
        "string",
        "An upload job's folder on the hosts (absolute); the files keep their "
        "names in it, and it is made when missing.",
        extra={"maxLength": MAX_DEST, "default": ""},
    ),
    "owner": Field(
        "string",
        "An upload job's owner of the files on the hosts; empty for the "
        "connecting user.",
        extra={"maxLength": 64, "default": ""},
    ),
    "mode": Field(
        "string",
        "An upload job's mode of the files, in octal.",
        extra={"maxLength": 4, "default": DEFAULT_MODE},
    ),
    "files": Field(
        "array",
        "An upload job's files, by name.",
        read_only=True,
        extra={
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "size": {"type": "integer", "minimum": 0},
                    "sha256": {"type": "string"},
                },
                "required": ["name", "size", "sha256"],
            }
        },
    ),
    "file_contents": Field(
        "array",
        "An upload job's files: each a bare file name and its content in "
        "base64. Given, they are all its files, replacing those it had; left "
        "out of a PATCH, the files stay.",
        write_only=True,
        extra={
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 1000},
                    "content": {"type": "string", "format": "byte"},
                },
                "required": ["name", "content"],
                "additionalProperties": False,
            }
        },
    ),
}


def upload_json(job: Job) -> dict[str, Any]:
    upload = getattr(job, "upload", None)
    if upload is None:
        return {"dest": "", "owner": "", "mode": DEFAULT_MODE, "files": []}
    return {
        "dest": upload.dest,
        "owner": upload.owner,
        "mode": upload.mode,
        "files": [
            {"name": file.name, "size": file.size, "sha256": file.sha256}
            for file in upload.files
        ],
    }


def upload_input(data: dict[str, Any], changes: dict[str, Any]) -> UploadInput | None:
    """The service's `upload` from the fields; None for a job of another kind.

    `changes` are the fields sent: only files sent replace the stored ones.
    """
    given = changes.get("file_contents")
    if data.get("kind") != JobKind.UPLOAD:
        if given:
            raise ApiError(
                422,
                "Some fields are wrong: see fields.",
                {"file_contents": "Only an upload job has files."},
            )
        return None
    return UploadInput(
        dest=data.get("dest") or "",
        owner=data.get("owner") or "",
        mode=data.get("mode") or DEFAULT_MODE,
        files=_decoded(given or []),
        replace=given is not None,
    )


def _decoded(items: list[dict[str, Any]]) -> tuple[NewFile, ...]:
    files = []
    for index, item in enumerate(items):
        try:
            content = base64.b64decode(item["content"], validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(
                422,
                "Some fields are wrong: see fields.",
                {f"file_contents.{index}.content": "Not base64."},
            ) from None
        files.append(NewFile(item["name"], content))
    return tuple(files)
