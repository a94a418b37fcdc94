"""What the pages' htmx requests have in common."""

from __future__ import annotations

from flask import request

# htmx stops polling on this status (see htmx's documentation of `every`).
STOP_POLLING = 286


def is_htmx() -> bool:
    """Whether htmx sent this request (for a fragment), not the browser itself."""
    return request.headers.get("HX-Request") == "true"
