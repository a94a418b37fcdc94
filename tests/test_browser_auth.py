"""Logging in and asking before a delete, in real Chromium, under the pages'
Content-Security-Policy (no inline script may run)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Host

from factories import PASSWORD
from helpers import screenshot

pytestmark = pytest.mark.slow


def _log_in(page, username: str) -> None:
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_delete_asks_first_and_nothing_breaks_the_policy(page, make):
    make.user("ann", role="admin")
    host_id = make.host("web1").id
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )

    page.goto(f"/hosts/{host_id}")
    expect(page).to_have_url(f"/login?next=/hosts/{host_id}")
    screenshot(page, "login")
    _log_in(page, "ann")
    expect(page).to_have_url(f"/hosts/{host_id}")

    questions = []
    page.once(
        "dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss())
    )
    page.get_by_role("button", name="Delete host").click()
    expect(page).to_have_url(f"/hosts/{host_id}")
    db.session.expire_all()
    assert db.session.get(Host, host_id) is not None, "dismissed: nothing deleted"
    assert questions and questions[0].startswith("Delete host web1?")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete host").click()
    expect(page).to_have_url("/hosts/")
    expect(page.get_by_role("status")).to_contain_text("Host web1 deleted.")
    db.session.expire_all()
    assert db.session.get(Host, host_id) is None
    assert refused == [], "the Content-Security-Policy refused something"


def test_a_viewer_logs_in_and_out(page, make):
    make.user("vic", role="viewer")

    page.goto("/")
    _log_in(page, "vic")
    expect(page.locator('[data-user="vic"]')).to_have_text("vic · viewer")
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    screenshot(page, "viewer-runs")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url("/login")
    expect(page.get_by_role("status")).to_contain_text("You are logged out.")
    page.goto("/runs/")
    expect(page).to_have_url("/login?next=/runs/")
