"""Times in the reader's zone: their own choice on their account page, else
Playdeck's (PLAYDECK_TIMEZONE), with UTC on hover.
"""

from __future__ import annotations

from datetime import datetime

from app.extensions import db
from app.models import AuditEntry, Run

from helpers import csrf_token, login, with_settings


def _run_queued_at(make, when: datetime) -> Run:
    run = Run(job=make.job(), queued_at=when)
    db.session.add(run)
    db.session.commit()
    return run


def test_times_show_in_playdecks_zone_by_default(app, client, make):
    with_settings(app, timezone="Asia/Tokyo")
    run = _run_queued_at(make, datetime(2026, 12, 4, 1, 30, 5))

    page = client.get(f"/runs/{run.id}").get_data(as_text=True)

    assert (
        '<time datetime="2026-12-04T01:30:05Z" title="2026-12-04 01:30:05 UTC">'
        "2026-12-04 10:30:05 JST</time>"
    ) in page


def test_a_user_picks_their_zone_and_sees_times_in_it(app, make):
    client = app.test_client()
    user = login(client, "viewer")
    run = _run_queued_at(make, datetime(2026, 7, 1, 12, 0, 0))

    answer = client.post(
        "/account/",
        data={"timezone": "Europe/Berlin", "csrf_token": csrf_token(client)},
        follow_redirects=True,
    )

    assert "Times are now shown in Europe/Berlin." in answer.get_data(as_text=True)
    db.session.refresh(user)
    assert user.timezone == "Europe/Berlin"
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "2026-07-01 14:00:00 CEST" in page
    entry = db.session.query(AuditEntry).filter_by(action="update").one()
    assert "Europe/Berlin" in entry.summary

    client.post("/account/", data={"timezone": "", "csrf_token": csrf_token(client)})
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "2026-07-01 12:00:00 UTC" in page, "back to Playdeck's default"


def test_an_unknown_zone_is_refused_on_the_field(app, client):
    answer = client.post(
        "/account/",
        data={"timezone": "Mars/Olympus", "csrf_token": csrf_token(client)},
    )

    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert "Unknown time zone: Mars/Olympus" in body
    assert 'class="field has-error"' in body
    assert "Your time zone was not changed." in body


def test_the_account_page_lists_zones_and_links_the_other_account_pages(client):
    page = client.get("/account/").get_data(as_text=True)

    assert '<option value="Europe/Berlin">' in page
    assert 'href="/account/password"' in page and 'href="/account/tokens"' in page
    assert 'aria-current="page">Time zone</a>' in page
