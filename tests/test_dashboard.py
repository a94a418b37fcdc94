"""The dashboard: runs by status, each job's trend by day, what runs now, the
queue and the workers, and what it says while Redis is away.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from rq import Worker

from app.extensions import db
from app.models import Run, RunStatus, utcnow
from app.queue import redis_connection, run_queue
from app.services import dashboard
from app.services import runs as run_service

from helpers import with_settings

HX = {"HX-Request": "true"}
DEAD_REDIS = "redis://127.0.0.1:1/0"


def _ran(job, status, queued, seconds=None) -> Run:
    started = queued + timedelta(seconds=1) if seconds is not None else None
    run = Run(
        job=job,
        status=status,
        queued_at=queued,
        started_at=started,
        finished_at=started + timedelta(seconds=seconds) if started else None,
    )
    db.session.add(run)
    return run


@pytest.mark.all_databases
def test_runs_are_counted_by_status_over_a_span(app, make):
    job = make.job()
    now = utcnow()
    for status, hours in [
        (RunStatus.SUCCESSFUL, 1),
        (RunStatus.SUCCESSFUL, 2),
        (RunStatus.FAILED, 3),
        (RunStatus.CANCELED, 4),
        (RunStatus.RUNNING, 0),
        (RunStatus.SUCCESSFUL, 30),  # yesterday
        (RunStatus.ERROR, 24 * 8),  # before the week
    ]:
        _ran(job, status, now - timedelta(hours=hours, minutes=1))
    db.session.commit()

    day = dashboard.status_counts(now - timedelta(days=1))
    week = dashboard.status_counts(now - timedelta(days=7))

    assert day.counts["successful"] == 2 and day.counts["failed"] == 1
    assert day.total == 5
    assert day.success_rate == pytest.approx(2 / 3), "canceled counts neither way"
    assert week.counts["successful"] == 3 and week.counts["error"] == 0
    assert dashboard.status_counts(now + timedelta(days=1)).success_rate is None


@pytest.mark.all_databases
def test_each_jobs_trend_is_counted_by_day_in_the_readers_zone(app, make):
    busy, quiet = make.job("busy"), make.job("quiet")
    quick = make.job("quick-1", hidden=True)
    now = datetime(2026, 12, 4, 12, 0)
    today = datetime(2026, 12, 4, 10, 0)
    _ran(busy, RunStatus.SUCCESSFUL, today, seconds=10)
    _ran(busy, RunStatus.FAILED, today, seconds=30)
    _ran(busy, RunStatus.SUCCESSFUL, today - timedelta(days=2), seconds=4)
    _ran(busy, RunStatus.RUNNING, today)
    _ran(quiet, RunStatus.SUCCESSFUL, today - timedelta(days=1), seconds=2)
    _ran(quick, RunStatus.SUCCESSFUL, today)
    # 23:30 UTC on the 3rd is the 4th for a reader two hours ahead of UTC.
    late = _ran(quiet, RunStatus.TIMEOUT, datetime(2026, 12, 3, 23, 30), seconds=8)
    _ran(busy, RunStatus.SUCCESSFUL, today - timedelta(days=20), seconds=1)
    db.session.commit()

    trends = dashboard.job_trends(now, offset_minutes=120, days=7)

    assert [trend.name for trend in trends] == ["busy", "quiet"], "busiest first"
    busy_trend, quiet_trend = trends
    assert len(busy_trend.days) == 7 and busy_trend.days[-1].day.isoformat() == (
        "2026-12-04"
    )
    last = busy_trend.days[-1]
    assert (last.runs, last.successful, last.unsuccessful) == (3, 1, 1)
    assert last.mean_seconds == pytest.approx(20, abs=0.01)
    assert busy_trend.days[-3].runs == 1 and busy_trend.days[-2].runs == 0
    assert busy_trend.runs == 4
    assert busy_trend.success_rate == pytest.approx(2 / 3)
    assert quiet_trend.days[-1].unsuccessful == 1, f"run {late.id} is the 4th there"
    assert quiet_trend.days[-2].successful == 1


def test_the_dashboard_page_draws_the_figures(client, make):
    job = make.job("nightly")
    now = utcnow()
    _ran(job, RunStatus.SUCCESSFUL, now - timedelta(hours=1), seconds=3)
    _ran(job, RunStatus.FAILED, now - timedelta(hours=2), seconds=5)
    db.session.commit()

    page = client.get("/").get_data(as_text=True)

    assert "<h1>Dashboard</h1>" in page
    first_span = page.split('data-span="1"')[1].split("</section>")[0]
    assert "<strong data-total>2</strong>" in first_span
    assert "<strong data-success-rate>50 %</strong>" in first_span
    assert 'aria-label="1 successful, 1 failed"' in first_span
    row = page.split(f'<tr data-job="{job.id}">')[1].split("</tr>")[0]
    assert "nightly" in row and "<svg" in row and "<title>" in row
    assert "<script" not in page.split("<body")[1].split("</header>")[1]


def test_an_empty_dashboard_says_what_to_do(client):
    page = client.get("/").get_data(as_text=True)

    assert "No job ran in the last 14 days." in page
    assert "Nothing is running now." in page
    assert 'hx-trigger="every 2s"' not in page


def test_what_runs_now_polls_while_runs_are_active_then_stops(client, make):
    job = make.job(playbook=make.playbook())
    run = run_service.launch(job)
    worker = Worker([run_queue()], connection=redis_connection())
    worker.register_birth()

    page = client.get("/").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in page
    assert f'<tr data-run="{run.id}">' in page
    assert "<strong data-waiting>1</strong> waiting" in page
    assert "<strong data-workers>1</strong> worker alive" in page

    fragment = client.get("/dashboard/active", headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.get_data(as_text=True)

    run_service.cancel(run, by="test")
    stopped = client.get("/dashboard/active", headers=HX)
    assert stopped.status_code == 286
    assert "Nothing is running now." in stopped.get_data(as_text=True)
    assert client.get("/dashboard/active").status_code == 302, "a page without htmx"


def test_what_runs_now_is_bounded(client, make, monkeypatch):
    monkeypatch.setattr(dashboard, "ACTIVE_SHOWN", 2)
    job = make.job()
    for _ in range(5):
        db.session.add(Run(job=job, status=RunStatus.RUNNING))
    db.session.commit()

    runs, count = dashboard.active_runs()

    assert len(runs) == 2 and count == 5
    page = client.get("/").get_data(as_text=True)
    assert len(re.findall(r'<tr data-run="\d+">', page)) == 2
    assert "3 more</a> queued or running." in page


def test_the_dashboard_says_when_redis_does_not_answer(app, client, make):
    db.session.add(Run(job=make.job(), status=RunStatus.RUNNING))
    db.session.commit()
    with_settings(app, redis_url=DEAD_REDIS)

    page = client.get("/")

    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "data-redis-down" in body
    assert "the queue and the workers cannot be counted" in body
    fragment = client.get("/dashboard/active", headers=HX)
    assert "cannot be counted" in fragment.get_data(as_text=True)
