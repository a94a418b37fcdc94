"""/api/v1/hosts and /api/v1/groups: the inventory."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from app.api import bp
from app.api.common import get_or_404, page_of, refused
from app.api.schema import ID, VARS, Field, body, crud_paths, ids
from app.models import Connection, Group, Host
from app.services import ServiceError
from app.services import groups as group_service
from app.services import hosts as host_service

HOST = {
    "id": ID,
    "name": Field(
        "string",
        "Its name in the inventory: letters, digits, _ . -",
        required=True,
        extra={"maxLength": 255},
    ),
    "address": Field(
        "string",
        "The name or IP address Ansible connects to.",
        required=True,
        extra={"maxLength": 255},
    ),
    "port": Field(
        "integer",
        "The SSH port.",
        extra={"minimum": 1, "maximum": 65535, "default": 22},
    ),
    "connection": Field(
        "string",
        "ssh, or local to run on the worker itself.",
        extra={"enum": [c.value for c in Connection], "default": "ssh"},
    ),
    "vars": VARS,
    "groups": ids("The ids of the groups it is in."),
}

GROUP = {
    "id": ID,
    "name": Field(
        "string",
        "Its name in the inventory: letters, digits and _.",
        required=True,
        extra={"maxLength": 255},
    ),
    "vars": VARS,
    "hosts": ids("The ids of its hosts."),
}


def host_json(host: Host) -> dict[str, Any]:
    return {
        "id": host.id,
        "name": host.name,
        "address": host.address,
        "port": host.port,
        "connection": host.connection,
        "vars": host.vars or {},
        "groups": [group.id for group in host.groups],
    }


def group_json(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "vars": group.vars or {},
        "hosts": [host.id for host in group.hosts],
    }


# Hosts


@bp.get("/hosts")
def hosts_list():
    search = request.args.get("q", "")
    return jsonify(page_of(host_service.hosts_query(search), host_json))


@bp.post("/hosts")
def host_create():
    data = body(HOST, create=True)
    try:
        host = host_service.create_host(
            name=data["name"],
            address=data["address"],
            port=data.get("port", 22),
            connection=data.get("connection", Connection.SSH),
            vars=data.get("vars") or {},
            group_ids=data.get("groups") or [],
        )
    except ServiceError as error:
        raise refused(error) from error
    location = url_for("api.host_get", host_id=host.id)
    return jsonify(host_json(host)), 201, {"Location": location}


@bp.get("/hosts/<int:host_id>")
def host_get(host_id: int):
    return jsonify(host_json(get_or_404(Host, host_id, "host")))


@bp.patch("/hosts/<int:host_id>")
def host_update(host_id: int):
    host = get_or_404(Host, host_id, "host")
    data = {**host_json(host), **body(HOST)}
    try:
        host_service.update_host(
            host,
            name=data["name"],
            address=data["address"],
            port=data["port"],
            connection=data["connection"],
            vars=data["vars"] or {},
            group_ids=data["groups"] or [],
        )
    except ServiceError as error:
        raise refused(error) from error
    return jsonify(host_json(host))


@bp.delete("/hosts/<int:host_id>")
def host_delete(host_id: int):
    host_service.delete_host(get_or_404(Host, host_id, "host"))
    return "", 204


# Groups


@bp.get("/groups")
def groups_list():
    return jsonify(page_of(group_service.groups_query(), group_json))


@bp.post("/groups")
def group_create():
    data = body(GROUP, create=True)
    try:
        group = group_service.create_group(
            name=data["name"],
            vars=data.get("vars") or {},
            host_ids=data.get("hosts") or [],
        )
    except ServiceError as error:
        raise refused(error) from error
    location = url_for("api.group_get", group_id=group.id)
    return jsonify(group_json(group)), 201, {"Location": location}


@bp.get("/groups/<int:group_id>")
def group_get(group_id: int):
    return jsonify(group_json(get_or_404(Group, group_id, "group")))


@bp.patch("/groups/<int:group_id>")
def group_update(group_id: int):
    group = get_or_404(Group, group_id, "group")
    data = {**group_json(group), **body(GROUP)}
    try:
        group_service.update_group(
            group,
            name=data["name"],
            vars=data["vars"] or {},
            host_ids=data["hosts"] or [],
        )
    except ServiceError as error:
        raise refused(error) from error
    return jsonify(group_json(group))


@bp.delete("/groups/<int:group_id>")
def group_delete(group_id: int):
    group_service.delete_group(get_or_404(Group, group_id, "group"))
    return "", 204


# The OpenAPI description of the routes above.

SCHEMAS = {"Host": HOST, "Group": GROUP}
SEARCH = {
    "name": "q",
    "in": "query",
    "schema": {"type": "string"},
    "description": "Only hosts whose name or address holds this.",
}


PATHS = {
    **crud_paths("hosts", "host", "Host", who="admin", search=SEARCH),
    **crud_paths("groups", "group", "Group", who="admin"),
}
