"""The pages' guard: log in first, then the role the permission table asks for.

One `before_request` hook for every page, so that views need no decorator; the
API has its own guard (`app.api.guard`), with tokens instead of the session.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from flask import (
    Response,
    abort,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from app.auth import permissions
from app.auth.permissions import PUBLIC
from app.extensions import db
from app.models import User

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

# script-src 'self' forbids inline scripts and on* attributes: pages load their
# scripts from /static only (post_form's confirm is done in app.js for that).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: the id kept in the session is "<id>:<session token>".

    A password change or a deactivation gives the user a new session token,
    which ends every session opened with the old one.
    """
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active:
        return None
    if not secrets.compare_digest(user.session_token, token):
        return None
    return user


def forget_request_state() -> None:
    """Drop the user and CSRF token a previous request cached in `g`.

    `g` belongs to the app context, which outlives a request when the caller
    pushed one around several requests (tests and scripts do): one client's user
    or CSRF token must not leak into another's request.
    """
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def guard_pages() -> Response | None:
    """Send anonymous visitors to the login page; refuse a role too low (403)."""
    if request.blueprint == "api":
        return None  # the API's guard decides, on the token alone
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no route matched: a 404 or 405 follows
    needed = permissions.needed(endpoint)
    if needed is PUBLIC:
        return None
    if not current_user.is_authenticated:
        return _to_login()
    if needed is None:
        log.error("endpoint %s has no line in the permission table: refused", endpoint)
        abort(403)
    if not current_user.can(needed):
        abort(403)
    return None


def can(endpoint: str) -> bool:
    """Whether the current user may use `endpoint`: templates hide what they can't.

    Hiding is a courtesy; the guard above is what refuses.
    """
    role = current_user.access if current_user.is_authenticated else None
    return permissions.allowed(role, endpoint)


def forbidden(error: Forbidden) -> tuple[Response | str, int]:
    """A 403 that says what the user's role allows (JSON under the API)."""
    if request.path.startswith(API_PREFIX):
        body = {"message": "Your role does not allow this.", "fields": {}}
        return jsonify(body), 403
    return render_template("errors/403.html"), 403


def security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        # Pages hold what only a logged-in user may read: not for the cache, so
        # that Back after logging out shows nothing.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path of this site; None for anything else."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _to_login() -> Response:
    if request.headers.get("HX-Request") == "true":
        # A fragment (the log poller, say) must not swap the login form into the
        # page: HTMX follows HX-Redirect with the whole window.
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        here = current.path + (f"?{current.query}" if current.query else "")
        response = Response(status=401)
        response.headers["HX-Redirect"] = url_for(
            "auth.login", next=safe_next(here) or None
        )
        return response
    next_page = request.full_path if request.method == "GET" else None
    if next_page and next_page.endswith("?"):
        next_page = next_page[:-1]
    return redirect(url_for("auth.login", next=safe_next(next_page) or None))
