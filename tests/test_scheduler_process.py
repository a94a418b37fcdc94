"""The scheduler process as the Procfile starts it, `python -m app.maintenance`:
it reconciles rq-scheduler's entries with the database when it starts and fires
what is due; two of them at once fire an occurrence once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Firing, Run, RunTrigger, utcnow
from app.queue import redis_connection
from app.services import scheduler, schedules
from app.services.schedules import ScheduleSpec

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def start_scheduler(settings, tmp_path):
    started: list[subprocess.Popen] = []
    env = dict(
        os.environ,
        PLAYDECK_INSTANCE_DIR=str(settings.instance_dir),
        PLAYDECK_DATABASE_URL=settings.database_url,
        PLAYDECK_REDIS_URL=settings.redis_url,
        PLAYDECK_SECRET_KEY=settings.secret_key,
        PLAYDECK_RECONCILE_INTERVAL="0.5",
    )

    def start() -> subprocess.Popen:
        log = open(tmp_path / f"scheduler{len(started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "app.maintenance"],
            cwd=ROOT,
            env=env,
            stderr=log,
        )
        log.close()
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _overdue_schedule(job):
    """Every minute, its latest due time already past: the next tick fires it."""
    now = utcnow()
    errors: dict[str, str] = {}
    values = schedules.checked(
        ScheduleSpec(kind="interval", every=1, unit="minutes", overlap="allow"),
        errors,
        now,
    )
    schedules.apply(job, values, now - timedelta(minutes=3))
    db.session.commit()
    return job.schedule


def _firings() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Firing))


def _wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_the_scheduler_process_reconciles_at_start_and_fires(make, start_scheduler):
    job = make.job()
    schedule = _overdue_schedule(job)
    assert redis_connection().zcard(scheduler.EntryScheduler.scheduled_jobs_key) == 0

    start_scheduler()

    assert _wait_for(lambda: _firings() >= 1), "the overdue schedule was not fired"
    firing = db.session.scalar(select(Firing))
    assert firing.schedule_id == schedule.id
    # Three due times (or one more, should a minute end meanwhile) had passed:
    # one run catches up for them.
    passed = (firing.occurrence - schedule.effective_from) // timedelta(minutes=1)
    assert passed >= 3
    assert firing.missed == passed - 1
    run = db.session.get(Run, firing.run_id)
    assert run.trigger == RunTrigger.SCHEDULED
    assert scheduler.schedulers_alive() == 1


def test_two_scheduler_processes_fire_an_occurrence_once(make, start_scheduler):
    jobs = [make.job() for _ in range(3)]
    for job in jobs:
        _overdue_schedule(job)

    start_scheduler()
    start_scheduler()

    assert _wait_for(lambda: _firings() >= 3)
    time.sleep(2)  # both had several passes meanwhile
    per_occurrence = db.session.execute(
        select(Firing.schedule_id, Firing.occurrence, func.count()).group_by(
            Firing.schedule_id, Firing.occurrence
        )
    ).all()
    # Should a minute end meanwhile, its due time fires too: once as well.
    assert {count for *_, count in per_occurrence} == {1}
    runs = db.session.scalar(select(func.count()).select_from(Run))
    assert runs == len(per_occurrence)
    assert scheduler.schedulers_alive() == 2
