"""The job form's schedule in a real browser: words and next runs while typing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from factories import PASSWORD
from helpers import screenshot

pytestmark = pytest.mark.slow


def test_the_schedule_is_said_in_words_while_typing(page, make):
    make.host("web1")
    make.user("olga", role="operator")
    page.goto("/login?next=/jobs/new")
    page.get_by_label("User name").fill("olga")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url("/jobs/new")

    preview = page.locator("#schedule-preview")
    expect(preview).to_contain_text("No schedule")
    cron = page.locator("#schedule_cron")
    expect(cron).to_be_hidden()  # only the inputs of the chosen kind show
    page.get_by_role("radio", name="Cron").check()
    expect(cron).to_be_visible()

    page.get_by_label("Time zone").fill("Europe/Berlin")
    cron.fill("")
    cron.press_sequentially("61 2 * * *")
    expect(preview.locator('[data-field="schedule_cron"]')).to_contain_text(
        "The minute field, 61, is not valid"
    )

    cron.fill("")
    cron.press_sequentially("30 2 * * *")
    expect(preview).to_contain_text("At 02:30 (Europe/Berlin time)")
    expect(preview.locator("ol.next-runs li")).to_have_count(5)
    expect(preview.locator("ol.next-runs li").first).to_contain_text(":30 CE")
    screenshot(page, "schedule-preview")

    page.get_by_label("Name").fill("nightly-ping")
    page.get_by_label("Module", exact=True).select_option("ping")
    page.get_by_role("checkbox", name="web1").check()
    page.get_by_role("button", name="Save job").click()
    expect(page.locator("#schedule")).to_contain_text("At 02:30 (Europe/Berlin time)")
    expect(page.locator("#schedule ol.next-runs li")).to_have_count(5)
    screenshot(page, "schedule-job-page")

    page.get_by_role("link", name="Upcoming").click()
    expect(page.locator("table.upcoming")).to_contain_text("nightly-ping")
    screenshot(page, "schedule-upcoming")
