"""Schedules through the JSON API: a job's `schedule`, and the upcoming list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_api import Api

from app.models import utcnow
from app.queue import redis_connection
from app.services import scheduler

pytestmark = pytest.mark.all_databases

ENTRIES = scheduler.EntryScheduler.scheduled_jobs_key
NIGHTLY = {
    "kind": "cron",
    "cron": "30 2 * * *",
    "timezone": "Europe/Berlin",
    "every": None,
    "unit": "minutes",
    "run_at": None,
    "enabled": True,
    "overlap": "skip",
}


@pytest.fixture
def api(app):
    return Api(app, "operator", "robot")


def _job(make) -> dict:
    host = make.host()
    return {"name": "nightly", "kind": "adhoc", "module": "ping", "hosts": [host.id]}


def test_a_job_is_created_with_its_schedule(api, make):
    response = api.post("/jobs", json={**_job(make), "schedule": NIGHTLY})

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["schedule"] == NIGHTLY
    assert redis_connection().zcard(ENTRIES) == 1
    job_id = response.get_json()["id"]
    assert api.get(f"/jobs/{job_id}").get_json()["schedule"] == NIGHTLY


def test_a_job_without_a_schedule_says_null(api, make):
    response = api.post("/jobs", json=_job(make))

    assert response.get_json()["schedule"] is None


def test_patching_other_fields_keeps_the_schedule(api, make):
    job_id = api.post("/jobs", json={**_job(make), "schedule": NIGHTLY}).get_json()[
        "id"
    ]
    [entry] = redis_connection().zrange(ENTRIES, 0, -1)

    response = api.patch(f"/jobs/{job_id}", json={"forks": 7})

    assert response.status_code == 200
    assert response.get_json()["schedule"] == NIGHTLY
    assert redis_connection().zrange(ENTRIES, 0, -1) == [entry]


def test_a_schedule_is_changed_disabled_and_removed(api, make):
    job_id = api.post("/jobs", json={**_job(make), "schedule": NIGHTLY}).get_json()[
        "id"
    ]
    every = {"kind": "interval", "every": 2, "unit": "hours"}

    changed = api.patch(f"/jobs/{job_id}", json={"schedule": every}).get_json()
    assert changed["schedule"]["kind"] == "interval"
    assert (changed["schedule"]["every"], changed["schedule"]["unit"]) == (2, "hours")

    off = api.patch(f"/jobs/{job_id}", json={"schedule": {**every, "enabled": False}})
    assert off.get_json()["schedule"]["enabled"] is False
    assert redis_connection().zcard(ENTRIES) == 0

    removed = api.patch(f"/jobs/{job_id}", json={"schedule": None})
    assert removed.get_json()["schedule"] is None


def test_a_one_off_is_written_in_its_zone(api, make):
    when = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    once = {"kind": "once", "run_at": f"{when:%Y-%m-%dT%H:%M}", "timezone": "UTC"}

    response = api.post("/jobs", json={**_job(make), "schedule": once})

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["schedule"]["run_at"] == f"{when:%Y-%m-%dT%H:%M}"


@pytest.mark.parametrize(
    ("schedule", "field", "message"),
    [
        ({"kind": "cron", "cron": "61 * * * *"}, "schedule_cron", "minute field"),
        ({"kind": "cron", "cron": 5}, "schedule_cron", "Must be a string."),
        ({"cron": "* * * * *"}, "schedule_kind", "Required."),
        ({"kind": "weekly"}, "schedule_kind", "Choose one of"),
        ({"kind": "once", "run_at": "tomorrow"}, "schedule_run_at", "YYYY-MM-DD"),
        ({"kind": "once", "run_at": "2020-01-01T10:00"}, "schedule_run_at", "passed"),
        ({"kind": "cron", "colour": "teal"}, "schedule_colour", "Unknown field."),
        (
            {"kind": "cron", "cron": "0 * * * *", "timezone": "Mars/Base"},
            "schedule_timezone",
            "Unknown time zone",
        ),
    ],
)
def test_a_wrong_schedule_is_422_naming_its_field(api, make, schedule, field, message):
    response = api.post("/jobs", json={**_job(make), "schedule": schedule})

    assert response.status_code == 422
    assert message in response.get_json()["fields"][field]


def test_upcoming_lists_enabled_schedules_soonest_first(app, api, make):
    # The nightly one may fall due at any time of the day the test runs; the
    # others bracket it: every 5 minutes, and single runs days away.
    def once(days: int) -> dict:
        when = utcnow() + timedelta(days=days)
        return {
            "kind": "once",
            "run_at": when.strftime("%Y-%m-%dT%H:%M"),
            "timezone": "UTC",
        }

    soon = {"kind": "interval", "every": 5, "unit": "minutes", "timezone": "UTC"}
    for name, schedule in [
        ("in three days", once(3)),
        ("nightly", NIGHTLY),
        ("often", soon),
        ("in two days", once(2)),
    ]:
        created = api.post(
            "/jobs", json={**_job(make), "name": name, "schedule": schedule}
        )
        assert created.status_code == 201, created.get_json()
    viewer = Api(app, "viewer", "reader")

    response = viewer.get("/schedules")

    assert response.status_code == 200
    body = response.get_json()
    names = [item["job_name"] for item in body["items"]]
    assert names[-2:] == ["in two days", "in three days"]
    assert set(names[:2]) == {"often", "nightly"}
    runs = [item["next_run"] for item in body["items"]]
    assert runs == sorted(runs)
    assert (body["total"], body["pages"]) == (4, 1)
    nightly = body["items"][names.index("nightly")]
    assert nightly["words"] == "At 02:30 (Europe/Berlin time)"
    # 02:30 in Berlin is 01:30 UTC in winter, 00:30 in summer.
    assert nightly["next_run"][11:] in ("01:30:00Z", "00:30:00Z")
    assert nightly["next_run_local"][11:] in ("02:30:00+01:00", "02:30:00+02:00")
    assert nightly["late"] is False
    assert viewer.post("/jobs", json=_job(make)).status_code == 403


def test_the_document_describes_schedules(api):
    doc = api.get("/openapi.json").get_json()

    assert "/schedules" in doc["paths"]
    schedule = doc["components"]["schemas"]["Job"]["properties"]["schedule"]
    assert schedule["nullable"] is True
    assert set(schedule["properties"]) == set(NIGHTLY)
