"""The audit trail page, for admins: newest first, filtered by user, action and
object."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from app import audit
from app.extensions import db
from app.models import AuditAction
from app.queue import settings

bp = Blueprint("audit", __name__, url_prefix="/audit")

OBJECT_TYPES = (
    "host",
    "group",
    "credential",
    "playbook",
    "job",
    "run",
    "user",
    "token",
    "guard_rule",
    "guard_check",
)


@bp.get("/")
def index():
    filters = {
        "user": request.args.get("user", "").strip(),
        "action": request.args.get("action", ""),
        "object": request.args.get("object", ""),
        "id": request.args.get("id", type=int),
    }
    if filters["action"] not in {action.value for action in AuditAction}:
        filters["action"] = ""
    if filters["object"] not in OBJECT_TYPES:
        filters["object"] = ""

    query = audit.entries_query(
        username=filters["user"],
        action=filters["action"],
        object_type=filters["object"],
        object_id=filters["id"],
    )
    page = db.paginate(query, per_page=settings().page_size, error_out=False)
    return render_template(
        "audit/index.html",
        page=page,
        filters=filters,
        args={key: value for key, value in filters.items() if value},
        actions=list(AuditAction),
        object_types=OBJECT_TYPES,
        usernames=audit.usernames(),
    )
