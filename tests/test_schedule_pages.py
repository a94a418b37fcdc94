"""Schedules on the pages: the job form's schedule fields and their preview, the
job page, the upcoming page, enable and disable, and who started a run.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Job, Run, Schedule, utcnow
from app.queue import redis_connection
from app.recurrence import Cron, to_local, upcoming, zone
from app.services import scheduler
from app.services import schedules as schedule_service
from app.services.runs import launch
from app.services.schedules import ScheduleSpec

from helpers import csrf_token, login

ENTRIES = scheduler.EntryScheduler.scheduled_jobs_key


def _form(token: str, host_id: int, **changes) -> dict:
    data = {
        "csrf_token": token,
        "name": "nightly",
        "kind": "adhoc",
        "module": "ping",
        "args": "",
        "playbook": "",
        "credential": "",
        "forks": "5",
        "timeout": "",
        "extra_vars": "",
        "hosts": [str(host_id)],
        "schedule_kind": "cron",
        "schedule_cron": "30 2 * * *",
        "schedule_timezone": "Europe/Berlin",
        "schedule_every": "",
        "schedule_unit": "minutes",
        "schedule_run_at": "",
        "schedule_enabled": "y",
        "schedule_overlap": "skip",
    }
    data.update(changes)
    return data


def _job(name: str) -> Job | None:
    return db.session.scalar(select(Job).where(Job.name == name))


def _next_berlin_night_runs() -> list[str]:
    rule = Cron("30 2 * * *", "Europe/Berlin")
    start = utcnow().replace(second=0, microsecond=0)
    berlin = zone("Europe/Berlin")
    return [
        to_local(due, berlin).strftime("%a %d %b %Y, %H:%M %Z")
        for due in upcoming(rule, start, 5)
    ]


def _give(job: Job, **spec) -> Schedule:
    errors: dict[str, str] = {}
    values = schedule_service.checked(ScheduleSpec(**spec), errors, utcnow())
    assert not errors, errors
    schedule_service.apply(job, values, utcnow())
    db.session.commit()
    scheduler.reconcile()
    return job.schedule


# The job form.


def test_the_form_asks_for_a_preview_as_one_types(client):
    page = client.get("/jobs/new").get_data(as_text=True)

    fieldset = re.search(r'<fieldset id="schedule-fields"[^>]*>', page).group(0)
    assert 'hx-get="/schedules/preview"' in fieldset
    assert 'hx-trigger="keyup changed delay:300ms, change"' in fieldset
    assert 'hx-target="#schedule-preview"' in fieldset
    assert 'name="schedule_cron"' in page
    assert '<option value="Europe/Berlin">' in page  # the zones to pick from
    assert 'id="schedule_timezone"' in page and 'value="UTC"' in page
    assert "No schedule: the job runs when someone presses Run." in page


def test_a_job_saved_with_a_cron_schedule_shows_it_in_words(client, make):
    host = make.host()

    response = client.post(
        "/jobs/new", data=_form(csrf_token(client), host.id, schedule_overlap="allow")
    )

    assert response.status_code == 302
    job = _job("nightly")
    schedule = job.schedule
    assert (schedule.kind, schedule.cron, schedule.timezone) == (
        "cron",
        "30 2 * * *",
        "Europe/Berlin",
    )
    assert (schedule.enabled, schedule.overlap) == (True, "allow")
    assert redis_connection().zcard(ENTRIES) == 1
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "At 02:30 (Europe/Berlin time)" in page
    assert "Next runs in Europe/Berlin:" in page
    for when in _next_berlin_night_runs():
        assert when in page
    assert "it runs anyway" in page


def test_an_invalid_expression_is_a_field_error_and_saves_nothing(client, make):
    host = make.host()

    response = client.post(
        "/jobs/new", data=_form(csrf_token(client), host.id, schedule_cron="61 2 * * *")
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    field = re.search(
        r'<div class="field has-error">\s*<label for="schedule_cron".*?</div>',
        page,
        re.S,
    )
    assert field, "the cron field is marked"
    assert "The minute field, 61, is not valid: use 0-59" in field.group(0)
    assert _job("nightly") is None
    assert redis_connection().zcard(ENTRIES) == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"schedule_timezone": "Europe/Nowhere"}, "schedule_timezone", "Unknown time"),
        (
            {"schedule_kind": "interval", "schedule_every": "0"},
            "schedule_every",
            "a whole number, 1 or more",
        ),
        (
            {"schedule_kind": "interval", "schedule_every": "soon"},
            "schedule_every",
            "Not a valid integer value",
        ),
        (
            {"schedule_kind": "once", "schedule_run_at": "2020-01-01T10:00"},
            "schedule_run_at",
            "That time has passed",
        ),
        (
            {"schedule_kind": "once", "schedule_run_at": "2036-03-30T02:30"},
            "schedule_run_at",
            "does not exist in Europe/Berlin: the clocks jump forward",
        ),
        ({"schedule_kind": "cron", "schedule_cron": ""}, "schedule_cron", "Type a"),
    ],
)
def test_schedule_fields_are_checked(client, make, changes, field, message):
    host = make.host()

    response = client.post(
        "/jobs/new", data=_form(csrf_token(client), host.id, **changes)
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    marked = re.search(
        rf'<div class="field has-error">\s*<label for="{field}".*?</div>', page, re.S
    )
    assert marked and message in marked.group(0)


def test_edit_shows_the_schedule_and_changes_it(client, make):
    job = make.job("nightly")
    _give(job, kind="cron", cron="30 2 * * *", timezone="Europe/Berlin")
    [old_entry] = redis_connection().zrange(ENTRIES, 0, -1)

    page = client.get(f"/jobs/{job.id}/edit").get_data(as_text=True)
    assert 'value="30 2 * * *"' in page
    assert 'value="Europe/Berlin"' in page
    assert f'hx-get="/schedules/preview?job={job.id}"' in page
    assert "At 02:30 (Europe/Berlin time)" in page  # the preview, without JS

    response = client.post(
        f"/jobs/{job.id}/edit",
        data=_form(
            csrf_token(client),
            job.hosts[0].id,
            schedule_kind="interval",
            schedule_every="2",
            schedule_unit="hours",
        ),
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert (job.schedule.kind, job.schedule.every, job.schedule.unit) == (
        "interval",
        2,
        "hours",
    )
    [new_entry] = redis_connection().zrange(ENTRIES, 0, -1)
    assert new_entry != old_entry
    assert "Every 2 hours" in client.get(f"/jobs/{job.id}").get_data(as_text=True)


def test_a_one_off_is_typed_and_shown_in_its_zone(client, make):
    host = make.host()
    when = (utcnow() + timedelta(days=3)).replace(
        hour=9, minute=15, second=0, microsecond=0
    )

    client.post(
        "/jobs/new",
        data=_form(
            csrf_token(client),
            host.id,
            schedule_kind="once",
            schedule_run_at=when.strftime("%Y-%m-%dT%H:%M"),
            schedule_timezone="Asia/Tokyo",
        ),
    )

    schedule = _job("nightly").schedule
    assert schedule.run_at == when - timedelta(hours=9)  # Tokyo is UTC+9
    page = client.get(f"/jobs/{schedule.job_id}/edit").get_data(as_text=True)
    assert f'value="{when:%Y-%m-%dT%H:%M}"' in page


def test_unchecking_enabled_keeps_the_schedule_but_not_its_entry(client, make):
    job = make.job("nightly")
    _give(job, kind="cron", cron="30 2 * * *", timezone="Europe/Berlin")
    data = _form(csrf_token(client), job.hosts[0].id)
    del data["schedule_enabled"]

    assert client.post(f"/jobs/{job.id}/edit", data=data).status_code == 302

    db.session.expire_all()
    assert job.schedule.enabled is False
    assert redis_connection().zcard(ENTRIES) == 0
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "disabled: it does not run until enabled" in page


def test_choosing_no_schedule_removes_it(client, make):
    job = make.job("nightly")
    _give(job, kind="cron", cron="30 2 * * *", timezone="Europe/Berlin")

    client.post(
        f"/jobs/{job.id}/edit",
        data=_form(csrf_token(client), job.hosts[0].id, schedule_kind=""),
    )

    assert db.session.scalar(select(Schedule)) is None
    assert redis_connection().zcard(ENTRIES) == 0


# The preview.


def test_the_preview_says_the_schedule_and_its_next_runs(client):
    response = client.get(
        "/schedules/preview",
        query_string={
            "schedule_kind": "cron",
            "schedule_cron": "30 2 * * *",
            "schedule_timezone": "Europe/Berlin",
            "schedule_enabled": "y",
        },
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="schedule-preview"')
    assert "<html" not in fragment
    assert "At 02:30 (Europe/Berlin time)" in fragment
    assert fragment.count("<li>") == 5
    for when in _next_berlin_night_runs():
        assert when in fragment


def test_the_preview_shows_what_is_wrong(client):
    response = client.get(
        "/schedules/preview",
        query_string={"schedule_kind": "cron", "schedule_cron": "*/0 * * *"},
        headers={"HX-Request": "true"},
    )

    fragment = response.get_data(as_text=True)
    assert response.status_code == 200  # HTMX swaps only successful answers
    assert 'data-field="schedule_cron"' in fragment
    assert "A cron expression has 5 fields" in fragment
    assert "<li>" not in fragment


def test_the_preview_of_an_interval_and_of_no_schedule(client):
    interval = client.get(
        "/schedules/preview",
        query_string={
            "schedule_kind": "interval",
            "schedule_every": "90",
            "schedule_unit": "minutes",
            "schedule_timezone": "UTC",
            "schedule_enabled": "y",
        },
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    none = client.get("/schedules/preview", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )

    assert "Every 90 minutes" in interval
    assert interval.count("<li>") == 5
    assert "No schedule" in none


# The job page, enable and disable.


def test_disable_and_enable_from_the_job_page(client, make):
    job = make.job("nightly")
    schedule = _give(job, kind="cron", cron="30 2 * * *", timezone="Europe/Berlin")
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert f'action="/schedules/{schedule.id}/disable"' in page

    response = client.post(
        f"/schedules/{schedule.id}/disable", data={"csrf_token": csrf_token(client)}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/jobs/{job.id}"
    db.session.expire_all()
    assert schedule.enabled is False
    assert redis_connection().zcard(ENTRIES) == 0
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Schedule disabled; it keeps its definition." in page
    assert f'action="/schedules/{schedule.id}/enable"' in page

    client.post(
        f"/schedules/{schedule.id}/enable", data={"csrf_token": csrf_token(client)}
    )

    db.session.expire_all()
    assert schedule.enabled is True
    assert redis_connection().zcard(ENTRIES) == 1


def test_a_past_one_off_cannot_be_enabled_again(client, make):
    job = make.job()
    schedule = _give(
        job, kind="once", run_at=utcnow() + timedelta(hours=1), timezone="UTC"
    )
    schedule_service.set_enabled(schedule, False)
    schedule.run_at = utcnow() - timedelta(hours=1)
    db.session.commit()

    client.post(
        f"/schedules/{schedule.id}/enable", data={"csrf_token": csrf_token(client)}
    )

    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "The time of this one-off schedule has passed" in page
    db.session.expire_all()
    assert schedule.enabled is False


def test_a_late_schedule_says_so(client, make):
    job = make.job()
    schedule = _give(job, kind="interval", every=5, unit="minutes")
    schedule.effective_from = utcnow() - timedelta(minutes=30)
    db.session.commit()

    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)

    assert "data-late" in page
    assert "is the scheduler process running?" in page


def test_the_job_page_shows_skipped_and_caught_up_firings(client, make):
    job = make.job()
    schedule = _give(job, kind="interval", every=10, unit="minutes")
    start = schedule.effective_from

    # Down for an hour: one run catches up for six due times.
    scheduler.tick(start + timedelta(minutes=60, seconds=5))
    [busy] = job_runs(job)
    # The next due time comes while that run still waits: skipped.
    scheduler.tick(start + timedelta(minutes=70))

    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'data-outcome="launched"' in page
    assert f'href="/runs/{busy.id}">run #{busy.id}</a>' in page
    assert 'data-outcome="skipped"' in page
    assert f"skipped: run {busy.id} of this job was still queued" in page
    assert 'data-missed="5"' in page
    first = (start + timedelta(minutes=10)).strftime("%a %d %b %Y, %H:%M UTC")
    assert f"earlier due times missed since {first}" in page


def job_runs(job: Job) -> list:
    db.session.expire_all()
    return list(db.session.scalars(select(Run).where(Run.job_id == job.id)))


def test_runs_say_who_or_what_started_them(client, make):
    job = make.job()
    _give(job, kind="cron", cron="* * * * *", timezone="UTC", overlap="allow")
    manual = launch(job)
    scheduler.tick(utcnow() + timedelta(minutes=1))

    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)

    assert '<td data-trigger="scheduled">schedule</td>' in page
    assert 'data-trigger="manual">' in page
    assert f'data-run="{manual.id}"' in page


# The upcoming page.


def test_upcoming_lists_enabled_schedules_soonest_first(client, make):
    later = make.job("later")
    _give(later, kind="interval", every=3, unit="hours")
    sooner = make.job("sooner")
    _give(sooner, kind="interval", every=10, unit="minutes", timezone="Asia/Tokyo")
    off = make.job("off")
    schedule_service.set_enabled(
        _give(off, kind="cron", cron="* * * * *", timezone="UTC"), False
    )

    page = client.get("/schedules/").get_data(as_text=True)

    assert page.index("sooner") < page.index("later")
    assert ">off<" not in page
    assert "Every 10 minutes" in page and "Every 3 hours" in page
    assert "JST" in page  # Tokyo's schedule is shown in Tokyo time
    assert "data-no-scheduler" in page  # no scheduler process in this test


def test_upcoming_without_schedules(client):
    page = client.get("/schedules/").get_data(as_text=True)

    assert "No enabled schedule" in page


def test_a_viewer_sees_upcoming_but_cannot_switch_schedules(anon_client, make):
    job = make.job()
    schedule = _give(job, kind="cron", cron="0 * * * *", timezone="UTC")
    login(anon_client, "viewer")

    assert anon_client.get("/schedules/").status_code == 200
    page = anon_client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "/disable" not in page
    response = anon_client.post(
        f"/schedules/{schedule.id}/disable",
        data={"csrf_token": csrf_token(anon_client)},
    )
    assert response.status_code == 403


def test_times_are_stored_in_utc(make):
    job = make.job()
    schedule = _give(
        job,
        kind="once",
        run_at=datetime(2036, 7, 1, 12, 0),
        timezone="America/New_York",
    )

    assert schedule.run_at == datetime(2036, 7, 1, 16, 0)
