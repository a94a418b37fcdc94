"""/api/v1/openapi.json: the API described, from the same data the routes use.

Each API module holds its routes, its fields (`SCHEMAS`, read and written) and
its paths (`PATHS`) side by side; this module only puts them together. A test
fails when a route of the API is missing from the document.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from flask import jsonify, request

from app.api import (
    audit,
    bp,
    credentials,
    guard,
    hosts,
    jobs,
    playbooks,
    runs,
    schedules,
)
from app.api.schema import (
    ERROR_SCHEMA,
    ApiError,
    read_schema,
    write_schema,
)

MODULES = (hosts, credentials, playbooks, jobs, runs, audit, schedules, guard)
# Objects that scripts create and change, with their POST and PATCH bodies.
WRITABLE = ("Host", "Group", "Credential", "Playbook", "Job", "GuardRule")

DESCRIPTION = """\
Playdeck's JSON API. Send a token as `Authorization: Bearer <token>`; make one
on the API tokens page, or with `flask --app app users create-token NAME`. A
token acts with its owner's role: viewers read, operators also write jobs and
playbooks and launch and cancel runs, admins do everything, and they alone
keep the command guard's rules and checks.

Errors answer `{"message": ..., "fields": {...}}` with fields naming what was
refused: 400 for a malformed body or parameter, 401 without a valid token, 403
for a role too low, 404 for an unknown id, 409 when the state of things
refuses (a playbook jobs use, a run already ended), 422 for refused fields.

Lists answer a page: `items` in a stable order with `page`, `per_page`,
`total` and `pages`; ask others with `?page=&per_page=` (100 at most).
"""


def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for module in MODULES:
        for name, fields in module.SCHEMAS.items():
            schemas[name] = read_schema(fields)
            if name in WRITABLE:
                schemas[f"{name}Create"] = write_schema(fields, create=True)
                schemas[f"{name}Update"] = write_schema(fields, create=False)
        for name, fields in getattr(module, "WRITE_SCHEMAS", {}).items():
            schemas[name] = write_schema(fields, create=False)
        paths.update(module.PATHS)
    paths["/openapi.json"] = {
        "get": {
            "summary": "This document",
            "tags": ["API"],
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "Playdeck", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": bp.url_prefix}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token: pdt_...",
                }
            },
        },
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())


@cache
def _query_parameters() -> dict[tuple[str, str], frozenset[str]]:
    """The query parameters each (method, path) documents."""
    allowed = {}
    for path, item in document()["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            parameters = [*shared, *operation.get("parameters", [])]
            allowed[(method, path)] = frozenset(
                p["name"] for p in parameters if p["in"] == "query"
            )
    return allowed


@bp.before_request
def refuse_unknown_parameters() -> None:
    """A query parameter the document does not name is refused (400), so that a
    misspelt filter (`?stauts=failed`) does not quietly list everything."""
    if request.url_rule is None or request.method in ("HEAD", "OPTIONS"):
        return
    path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", request.url_rule.rule)
    key = (request.method.lower(), path.removeprefix(bp.url_prefix or ""))
    unknown = sorted(set(request.args) - _query_parameters().get(key, frozenset()))
    if unknown:
        raise ApiError(
            400,
            "Unknown query parameter: " + ", ".join(unknown) + ".",
            {name: "Unknown parameter." for name in unknown},
        )
