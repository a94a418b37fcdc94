"""/api/v1/audit: the audit trail, newest first (admin)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from app import audit
from app.api import bp
from app.api.common import iso, page_of
from app.api.schema import (
    ID,
    MAX_ID,
    PAGING_PARAMETERS,
    Field,
    json_response,
    operation,
    page_schema,
    query_choice,
    query_int,
)
from app.models import AuditAction, AuditEntry, AuditVia

ACTIONS = tuple(action.value for action in AuditAction)

ENTRY = {
    "id": ID,
    "at": Field("string", "When (UTC).", extra={"format": "date-time"}),
    "user": Field(
        "string",
        "Who acted, by user name then; for a failed login, the name tried; "
        "empty for Playdeck itself or the command line.",
    ),
    "address": Field("string", "The client's address, for requests."),
    "via": Field(
        "string",
        "Through what: web, api, cli or system.",
        extra={"enum": [via.value for via in AuditVia]},
    ),
    "action": Field("string", "What was done.", extra={"enum": list(ACTIONS)}),
    "object_type": Field(
        "string",
        "host, group, credential, playbook, job, run, user, token, guard_rule "
        "or guard_check.",
    ),
    "object_id": Field("integer", "The object's id.", nullable=True),
    "object_name": Field("string", "The object's name then."),
    "summary": Field("string", "One line about it."),
    "changes": Field(
        "object",
        "Fields changed, each [before, after], or the values of a new object. "
        "Never a secret.",
        extra={"additionalProperties": True},
    ),
}


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "user": entry.username,
        "address": entry.address,
        "via": entry.via,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_name": entry.object_name,
        "summary": entry.summary,
        "changes": entry.changes or {},
    }


@bp.get("/audit")
def audit_list():
    query = audit.entries_query(
        username=request.args.get("user", ""),
        action=query_choice("action", ACTIONS),
        object_type=request.args.get("object_type", ""),
        object_id=query_int("object_id", None, 1, MAX_ID),
    )
    return jsonify(page_of(query, entry_json))


SCHEMAS = {"AuditEntry": ENTRY}
PATHS = {
    "/audit": {
        "get": operation(
            "The audit trail, newest first (admin)",
            {200: json_response("A page of entries.", page_schema("AuditEntry"))},
            parameters=[
                *PAGING_PARAMETERS,
                {
                    "name": "user",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "Only what this user name did.",
                },
                {
                    "name": "action",
                    "in": "query",
                    "schema": {"type": "string", "enum": list(ACTIONS)},
                    "description": "Only this action.",
                },
                {
                    "name": "object_type",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "Only about this kind of object.",
                },
                {
                    "name": "object_id",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                    "description": "Only about the object of this id.",
                },
            ],
            tag="Audit",
        )
    }
}
