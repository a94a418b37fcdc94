"""A guard rule added on the Guard page in real Chromium, and the Run button it
then stops."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Run

from helpers import browser_login, screenshot

pytestmark = pytest.mark.slow


def test_a_rule_added_on_the_guard_page_stops_the_run_button(page, make):
    make.user("ann", role="admin")
    job = make.job("wipe", module="shell", args="rm  -rf /srv/data")

    browser_login(page, "/guard/", "ann")
    page.get_by_role("link", name="Add a rule").click()
    page.get_by_label("Pattern").fill("rm -rf")
    page.get_by_label("Reason").fill("Ask ops first.")
    page.get_by_role("button", name="Save rule").click()
    expect(page).to_have_url("/guard/")
    expect(page.locator("table.guard-rules")).to_contain_text("rm -rf")

    page.goto(f"/jobs/{job.id}")
    page.get_by_role("button", name="▶ Run").click()
    expect(page).to_have_url(f"/jobs/{job.id}")
    expect(page.get_by_role("status")).to_contain_text(
        "Refused by guard rule 1 (deny “rm -rf”): the arguments: rm -rf /srv/data."
        " Ask ops first."
    )
    screenshot(page, "guard-refused")
    assert db.session.query(Run).count() == 0
