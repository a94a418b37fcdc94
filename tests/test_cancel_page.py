"""Cancel from the run page: asked first, with JavaScript or without, and the log
says who canceled and when."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Event, Run, RunStatus
from app.models.event import NOTE
from app.services import runs

from factories import PASSWORD
from helpers import csrf_token


def _run(run_id: int) -> Run:
    db.session.expire_all()
    return db.session.get(Run, run_id)


def _log_lines(run_id: int) -> list[str]:
    events = db.session.query(Event).filter_by(run_id=run_id).order_by(Event.seq)
    return [event.stdout for event in events if event.type == NOTE]


def test_without_javascript_the_form_leads_to_a_page_that_asks(client, make):
    run = runs.launch(make.job())
    token = csrf_token(client)

    asked = client.post(f"/runs/{run.id}/cancel", data={"csrf_token": token})

    assert asked.status_code == 200
    body = asked.get_data(as_text=True)
    assert f"Cancel run {run.id}" in body
    assert 'name="confirmed" value="yes"' in body
    assert _run(run.id).status == RunStatus.QUEUED, "nothing canceled yet"

    done = client.post(
        f"/runs/{run.id}/cancel", data={"csrf_token": token, "confirmed": "yes"}
    )

    assert done.status_code == 302
    assert done.headers["Location"] == f"/runs/{run.id}"
    assert _run(run.id).status == RunStatus.CANCELED


def test_htmx_posts_once_the_browser_asked(client, make):
    run = runs.launch(make.job())

    answer = client.post(
        f"/runs/{run.id}/cancel",
        headers={"HX-Request": "true", "X-CSRFToken": csrf_token(client)},
    )

    assert answer.status_code == 200
    assert answer.headers["HX-Redirect"] == f"/runs/{run.id}"
    assert _run(run.id).status == RunStatus.CANCELED


def test_the_log_and_the_page_say_who_canceled_and_when(client, make):
    run = runs.launch(make.job())
    user = client.get("/runs/").get_data(as_text=True)
    client.post(
        f"/runs/{run.id}/cancel",
        data={"csrf_token": csrf_token(client), "confirmed": "yes"},
    )

    ended = _run(run.id)
    assert ended.canceled_by and ended.canceled_by in user, "the user's name"
    when = ended.cancel_requested_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert _log_lines(run.id) == [f"Canceled by {ended.canceled_by} at {when}"]
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert f"Canceled by {ended.canceled_by} at {when}" in page
    assert f"<dd data-canceled-by>{ended.canceled_by}</dd>" in page


def test_a_run_that_already_ended_is_not_asked_about(client, make):
    run = runs.launch(make.job())
    runs.cancel(run)

    answer = client.post(
        f"/runs/{run.id}/cancel", data={"csrf_token": csrf_token(client)}
    )

    assert answer.status_code == 302


def _log_in(page, make, name: str = "olga") -> None:
    make.user(name, role="operator")
    page.goto("/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url("/")  # the dashboard


@pytest.mark.slow
def test_in_a_browser_the_button_asks_then_cancels(page, make):
    run = runs.launch(make.job())
    _log_in(page, make)
    page.goto(f"/runs/{run.id}")
    asked = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    button = page.get_by_role("button", name="Cancel run")
    button.click()
    expect(page.locator("#run-summary")).to_have_attribute("data-status", "queued")
    assert _run(run.id).status == RunStatus.QUEUED, "dismissed: nothing happens"

    button.click()
    expect(page.locator("#run-summary")).to_have_attribute("data-status", "canceled")
    assert asked == [f"Cancel run {run.id}?"] * 2
    expect(page.locator("#log")).to_contain_text("Canceled by olga at ")


@pytest.mark.slow
def test_in_a_browser_without_javascript_a_page_asks(browser, live_server, make):
    run = runs.launch(make.job())
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    try:
        _log_in(page, make, "nojs")
        page.goto(f"/runs/{run.id}")
        page.get_by_role("button", name="Cancel run").click()
        expect(page.locator("[data-confirm-cancel]")).to_be_visible()
        assert _run(run.id).status == RunStatus.QUEUED

        page.get_by_role("button", name=f"Yes, cancel run {run.id}").click()
        expect(page).to_have_url(f"/runs/{run.id}")
        expect(page.locator("#run-summary")).to_have_attribute(
            "data-status", "canceled"
        )
        expect(page.locator("#log")).to_contain_text("Canceled by nojs at ")
    finally:
        context.close()
