"""The JSON API under /api/v1, for scripts, authenticated by API tokens.

Views parse JSON, call the same services as the pages and answer JSON. One guard
for the whole blueprint: the token names the user (a session cookie counts for
nothing here, so CSRF cannot apply and the blueprint is exempt from it), and the
permission table gives the least role of each route.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, g, jsonify, request
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from app.api.schema import ApiError
from app.auth import permissions
from app.auth.permissions import PUBLIC
from app.extensions import csrf
from app.services import Unavailable
from app.services import tokens as token_service

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PREFIX = bp.url_prefix or ""


def error_json(status: int, message: str, fields: dict | None = None) -> Response:
    response = jsonify({"message": message, "fields": fields or {}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="playdeck"'
    return response


@bp.before_request
def guard_api() -> Response | None:
    needed = permissions.needed(request.endpoint)
    if needed is PUBLIC:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    user = None
    if scheme.lower() == "bearer" and token.strip():
        user = token_service.user_for_token(token.strip())
    if user is None:
        return error_json(401, "Send a valid API token: Authorization: Bearer <token>.")
    # Flask-Login's current user for this request, from the token alone: the
    # services and the audit trail see the token's owner.
    g._login_user = user
    if needed is None:
        log.error("endpoint %s has no line in the permission table", request.endpoint)
        return error_json(403, "Nobody may use this route.")
    if not user.can(needed):
        return error_json(
            403, f"Your role ({user.role}) does not allow this; it needs {needed}."
        )
    return None


@bp.errorhandler(ApiError)
def api_error(error: ApiError) -> Response:
    return error_json(error.status, error.message, error.fields)


@bp.errorhandler(Unavailable)
def unavailable(error: Unavailable) -> Response:
    return error_json(503, error.message)


@bp.errorhandler(RedisError)
def redis_error(error: RedisError) -> Response:
    log.warning("%s %s: Redis does not answer: %s", request.method, request.path, error)
    return error_json(503, "Redis does not answer; try again in a while.")


def http_error(error: HTTPException) -> Response | HTTPException:
    """Errors under /api/ in JSON (unknown URLs and methods too); pages keep theirs."""
    if not request.path.startswith(PREFIX + "/") and request.path != PREFIX:
        return error
    return error_json(error.code or 500, error.description or error.name)


def register_api(app: Flask) -> None:
    from app.api import (  # noqa: F401
        audit,
        credentials,
        guard,
        hosts,
        jobs,
        openapi,
        playbooks,
        runs,
        schedules,
    )

    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, http_error)
