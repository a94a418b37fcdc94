"""What the API's views share: rows by id, pages of lists, times, service errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select

from app.api.schema import MAX_ID, ApiError, paging
from app.extensions import db
from app.services import ServiceError

T = TypeVar("T")


def get_or_404(model: type[T], row_id: int, what: str) -> T:
    """The row, or a 404 that names what was looked for."""
    row = db.session.get(model, row_id) if 1 <= row_id <= MAX_ID else None
    if row is None:
        raise ApiError(404, f"No {what} has id {row_id}.")
    return row


def page_of(query: Select[tuple[T]], serialize: Callable[[T], Any]) -> dict[str, Any]:
    """One page of `query` (whose order must be stable), as the API answers it."""
    number, per_page = paging()
    page = db.paginate(query, page=number, per_page=per_page, error_out=False)
    return {
        "items": [serialize(row) for row in page.items],
        "page": number,
        "per_page": per_page,
        "total": page.total or 0,
        "pages": page.pages,
    }


def iso(value: datetime | None) -> str | None:
    """A stored (naive UTC) time as RFC 3339."""
    if value is None:
        return None
    return value.isoformat(timespec="seconds") + "Z"


def refused(error: ServiceError, aliases: dict[str, str] | None = None) -> ApiError:
    """A service's refusal as an answer.

    A refusal that names fields is bad input (422); one that names none is about
    the state of things, like deleting a playbook that jobs use (409).
    """
    if not error.fields:
        return ApiError(409, error.message)
    aliases = aliases or {}
    fields = {
        aliases.get(name, name): message for name, message in error.fields.items()
    }
    return ApiError(422, error.message, fields)
