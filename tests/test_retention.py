"""Retention: which runs the purge removes, in batches, and the settings page
that tells what the next purge would remove."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.maintenance import purge_once
from app.models import Event, Run, RunStatus, utcnow
from app.services import retention

from helpers import with_settings

pytestmark = pytest.mark.all_databases


def _run(job, status=RunStatus.SUCCESSFUL, days_old: float = 0, lines: int = 3) -> Run:
    run = Run(
        job=job,
        status=status,
        queued_at=utcnow() - timedelta(days=days_old),
        summary={"description": "ping"},
    )
    db.session.add(run)
    db.session.flush()
    db.session.add_all(
        Event(run_id=run.id, seq=seq, type="verbose", stdout=f"line {seq}")
        for seq in range(1, lines + 1)
    )
    db.session.commit()
    return run


def _ids() -> set[int]:
    db.session.expire_all()
    return {run_id for (run_id,) in db.session.query(Run.id)}


def test_runs_older_than_the_retention_go_with_their_events(app, make):
    with_settings(app, retention_days=30)
    job = make.job()
    old = _run(job, days_old=31, lines=5).id
    recent = _run(job, days_old=29).id

    assert retention.plan() == retention.Purge(runs=1, events=5)
    assert retention.purge() == retention.Purge(runs=1, events=5)

    assert _ids() == {recent}
    assert db.session.query(Event).filter_by(run_id=old).count() == 0
    assert retention.plan() == retention.Purge(runs=0, events=0)


def test_only_the_newest_runs_of_each_job_are_kept(app, make):
    with_settings(app, retention_runs_per_job=3)
    crowded, quiet = make.job(), make.job()
    crowded_runs = [_run(crowded).id for _ in range(5)]
    quiet_runs = [_run(quiet).id for _ in range(2)]

    retention.purge()

    assert _ids() == set(crowded_runs[-3:] + quiet_runs)


def test_queued_and_running_runs_are_never_purged(app, make):
    with_settings(app, retention_days=1, retention_runs_per_job=1)
    job = make.job()
    queued = _run(job, RunStatus.QUEUED, days_old=400).id
    running = _run(job, RunStatus.RUNNING, days_old=400).id
    _run(job, RunStatus.FAILED, days_old=400)

    assert retention.plan().runs == 1
    retention.purge()

    assert _ids() == {queued, running}


def test_events_go_in_batches_and_a_pass_is_bounded(app, make):
    with_settings(app, retention_days=1, purge_batch=10)
    job = make.job()
    for _ in range(3):
        _run(job, days_old=2, lines=25)

    # 25 events of 3 runs, 10 per statement: 8 statements, then one for the runs.
    first = retention.purge(max_statements=4)
    assert first == retention.Purge(runs=0, events=40)
    rest = retention.purge()
    assert rest == retention.Purge(runs=3, events=35)
    assert _ids() == set()


def test_zero_keeps_everything(app, make):
    with_settings(app, retention_days=0, retention_runs_per_job=0)
    job = make.job()
    _run(job, days_old=4000)

    assert purge_once() == retention.Purge(runs=0, events=0)
    assert len(_ids()) == 1


def test_settings_page_shows_the_database_size_and_the_next_purge(app, client, make):
    with_settings(app, retention_days=30)
    job = make.job()
    _run(job, days_old=31, lines=7)
    _run(job, days_old=1)

    page = client.get("/settings/")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'data-purge-runs="1"' in body
    assert 'data-purge-events="7"' in body
    assert "removes 1 finished run and 7 log lines" in body
    assert retention.database_size() > 0
    assert "data-database-size" in body and "unknown" not in body
    assert len(_ids()) == 2, "the page deletes nothing"
