"""/api/v1/guard-rules and /api/v1/guard-checks: the command guard, for admins."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from sqlalchemy import select

from app.api import bp
from app.api.common import get_or_404, page_of, refused
from app.api.schema import (
    ID,
    MAX_ID,
    Field,
    body,
    crud_paths,
    error_response,
    json_response,
    operation,
    schema_ref,
)
from app.models import BuiltinCheck, GuardAction, GuardRule, Role
from app.services import ServiceError
from app.services import guard as guard_service

EVERYONE = "everyone"

RULE = {
    "id": ID,
    "position": Field(
        "integer",
        "Its place in the order, 1 tried first. Given, the rule goes there and "
        "the others make room; left out, a new rule goes last.",
        extra={"minimum": 1, "maximum": MAX_ID},
    ),
    "pattern": Field(
        "string",
        "Plain words (matching whole words) or, with `regex`, a regular "
        "expression; matched against commands once normalised.",
        required=True,
        extra={"maxLength": guard_service.MAX_PATTERN},
    ),
    "regex": Field(
        "boolean",
        "Whether `pattern` is a regular expression.",
        extra={"default": False},
    ),
    "action": Field(
        "string",
        "deny refuses the launch, warn marks the run, allow lets the command pass.",
        required=True,
        extra={"enum": [action.value for action in GuardAction]},
    ),
    "role": Field(
        "string",
        "The role of the launching user it applies to, or everyone. Scheduled "
        "runs count as an operator's.",
        extra={"enum": [EVERYONE, *(role.value for role in Role)], "default": EVERYONE},
    ),
    "reason": Field(
        "string",
        "Why the rule is there, shown to whoever it stops.",
        extra={"maxLength": guard_service.MAX_REASON, "default": ""},
    ),
}

CHECKS = {
    check.value: Field("boolean", f"Whether the built-in check “{check.title}” is on.")
    for check in BuiltinCheck
}


def rule_json(rule: GuardRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "position": rule.position,
        "pattern": rule.pattern,
        "regex": rule.regex,
        "action": rule.action,
        "role": rule.role or EVERYONE,
        "reason": rule.reason,
    }


def _values(data: dict[str, Any]) -> dict[str, Any]:
    role = data.get("role", EVERYONE)
    return {
        "pattern": data["pattern"],
        "regex": data.get("regex", False),
        "action": data["action"],
        "role": None if role == EVERYONE else role,
        "reason": data.get("reason") or "",
        "position": data.get("position"),
    }


@bp.get("/guard-rules")
def guard_rules_list():
    query = select(GuardRule).order_by(GuardRule.position, GuardRule.id)
    return jsonify(page_of(query, rule_json))


@bp.post("/guard-rules")
def guard_rule_create():
    data = body(RULE, create=True)
    try:
        rule = guard_service.create_rule(**_values(data))
    except ServiceError as error:
        raise refused(error) from error
    location = url_for("api.guard_rule_get", rule_id=rule.id)
    return jsonify(rule_json(rule)), 201, {"Location": location}


@bp.get("/guard-rules/<int:rule_id>")
def guard_rule_get(rule_id: int):
    return jsonify(rule_json(get_or_404(GuardRule, rule_id, "rule")))


@bp.patch("/guard-rules/<int:rule_id>")
def guard_rule_update(rule_id: int):
    rule = get_or_404(GuardRule, rule_id, "rule")
    changes = body(RULE)
    # Left out, the position stays: the rule keeps its place.
    values = _values({**rule_json(rule), "position": None, **changes})
    try:
        guard_service.update_rule(rule, **values)
    except ServiceError as error:
        raise refused(error) from error
    return jsonify(rule_json(rule))


@bp.delete("/guard-rules/<int:rule_id>")
def guard_rule_delete(rule_id: int):
    guard_service.delete_rule(get_or_404(GuardRule, rule_id, "rule"))
    return "", 204


def _checks_json() -> dict[str, bool]:
    return {check.value: enabled for check, enabled in guard_service.checks()}


@bp.get("/guard-checks")
def guard_checks_get():
    return jsonify(_checks_json())


@bp.patch("/guard-checks")
def guard_checks_update():
    for name, enabled in body(CHECKS).items():
        guard_service.set_check(BuiltinCheck(name), enabled)
    return jsonify(_checks_json())


SCHEMAS = {"GuardRule": RULE, "GuardChecks": CHECKS}
WRITE_SCHEMAS = {"GuardChecksUpdate": CHECKS}
_RULE_PATHS = crud_paths("guard-rules", "rule", "GuardRule", who="admin")
_RULE_PATHS["/guard-rules"]["get"]["summary"] = "Guard rules, in the order tried"
PATHS = {
    **_RULE_PATHS,
    "/guard-checks": {
        "get": operation(
            "The built-in checks, on or off (admin)",
            {200: json_response("Each check, by name.", schema_ref("GuardChecks"))},
            tag="GuardRules",
        ),
        "patch": operation(
            "Turn built-in checks on or off (admin)",
            {
                200: json_response("Each check, by name.", schema_ref("GuardChecks")),
                422: error_response("A field is refused; see fields."),
            },
            request="GuardChecksUpdate",
            tag="GuardRules",
        ),
    },
}
