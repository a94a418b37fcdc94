"""Small helpers tests import: `from helpers import csrf_token`."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from app.ansi import plain
from app.services import runs as run_service
from app.services import tokens as token_service

from factories import PASSWORD, Factory

_TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


def csrf_token(client) -> str:
    """The CSRF token of the client's session, as a page hands it to HTMX."""
    page = client.get("/runs/")
    if page.status_code == 302:  # not logged in: the login page has one too
        page = client.get("/login")
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, "pages carry the CSRF token in hx-headers"
    return match.group(1)


def login(client, role: str = "admin", name: str | None = None):
    """Log `client` in as a new user of `role`; returns the user.

    The session is written directly, as Flask-Login would after the login form
    (tests of the login page itself go through the form).
    """
    user = Factory().user(name, role=role)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return user


def api_error(response, status: int) -> dict:
    """The body of an API error answer, checked to have its status and shape."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"message", "fields"}
    return body


def run_log(run) -> str:
    """A run's whole log as a terminal shows it, without colours."""
    events = run_service.events_after(run.id, 0, 100_000)
    return "\n".join(plain(event.stdout) for event in events)


def with_settings(app, **changes) -> None:
    """Change settings of a running test app (say, a shorter timeout)."""
    app.config["PLAYDECK"] = dataclasses.replace(app.config["PLAYDECK"], **changes)


def browser_login(page, path: str, username: str) -> None:
    """Open `path` in a browser tab, log in on the page it is sent to, and be
    back at `path`."""
    from playwright.sync_api import expect

    page.goto(path)
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(path)


SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"


def screenshot(page, name: str) -> Path:
    """Save what a browser page shows, for a person to look at (ignored by git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


API = "/api/v1"


class Api:
    """A test client that sends a token of a user of some role."""

    def __init__(self, app, role: str = "admin", name: str | None = None) -> None:
        self.client = app.test_client()
        self.user = Factory().user(name, role=role)
        self.token = token_service.create_token(self.user, name="tests")[1]

    def __call__(self, method: str, path: str, json=None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.open(
            API + path, method=method, json=json, headers=headers, **kwargs
        )

    def get(self, path: str, **kwargs):
        return self("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self("POST", path, json, **kwargs)

    def patch(self, path: str, json=None, **kwargs):
        return self("PATCH", path, json, **kwargs)

    def delete(self, path: str, **kwargs):
        return self("DELETE", path, **kwargs)
