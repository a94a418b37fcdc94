"""The scheduler on a real Redis and database, its loop driven by a controlled
clock: each `tick(now)` is one turn of the scheduler process's loop at `now`.

Schedules are given with the same service the job form uses, at a chosen `now`,
so that every due time in these tests is known in advance.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Firing,
    FiringOutcome,
    Job,
    Run,
    RunStatus,
    RunTrigger,
    Schedule,
)
from app.queue import redis_connection
from app.services import jobs as job_service
from app.services import scheduler, schedules
from app.services.runs import events_after
from app.services.schedules import ScheduleSpec

from helpers import with_settings

pytestmark = pytest.mark.all_databases

T0 = datetime(2026, 1, 5, 10, 3)  # a Monday, 10:03 UTC


def give(job: Job, now: datetime = T0, **spec) -> Schedule:
    """Give `job` the schedule `spec` as if saved at `now`, and reconcile."""
    errors: dict[str, str] = {}
    values = schedules.checked(ScheduleSpec(**spec), errors, now)
    assert not errors, errors
    schedules.apply(job, values, now)
    db.session.commit()
    scheduler.reconcile()
    return job.schedule


def entries() -> dict[str, datetime]:
    """rq-scheduler's entries: id -> due time (UTC)."""
    key = scheduler.EntryScheduler.scheduled_jobs_key
    raw = redis_connection().zrange(key, 0, -1, withscores=True)
    return {
        name.decode(): datetime.fromtimestamp(score, UTC).replace(tzinfo=None)
        for name, score in raw
    }


def runs_of(job: Job) -> list[Run]:
    db.session.expire_all()
    return list(db.session.scalars(select(Run).where(Run.job_id == job.id)))


def firings_of(schedule: Schedule) -> list[Firing]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Firing)
            .where(Firing.schedule_id == schedule.id)
            .order_by(Firing.occurrence)
        )
    )


# Cron, interval and one-off: due, and not before.


def test_cron_fires_when_due_and_not_before(make):
    job = make.job("backup")
    schedule = give(job, kind="cron", cron="*/10 * * * *", timezone="UTC")

    assert list(entries().values()) == [datetime(2026, 1, 5, 10, 10)]
    assert scheduler.tick(datetime(2026, 1, 5, 10, 9, 59)) == []
    assert runs_of(job) == []

    [firing] = scheduler.tick(datetime(2026, 1, 5, 10, 10, 0))

    [run] = runs_of(job)
    assert run.trigger == RunTrigger.SCHEDULED
    assert run.status == RunStatus.QUEUED
    assert (firing.occurrence, firing.outcome) == (
        datetime(2026, 1, 5, 10, 10),
        FiringOutcome.LAUNCHED,
    )
    assert firing.run_id == run.id
    assert firing.missed == 0
    # The entry moved on to the next due time; the same tick again fires nothing.
    assert list(entries().values()) == [datetime(2026, 1, 5, 10, 20)]
    assert scheduler.tick(datetime(2026, 1, 5, 10, 10, 30)) == []
    assert len(runs_of(job)) == 1
    assert schedule.next_due() == datetime(2026, 1, 5, 10, 20)


def test_a_scheduled_run_is_a_run_like_any_other(make, run_worker):
    job = make.job("uptime", module="command", args="echo from the schedule")
    give(job, kind="cron", cron="*/10 * * * *", timezone="UTC")

    scheduler.tick(datetime(2026, 1, 5, 10, 10))
    run_worker()

    [run] = runs_of(job)
    assert run.status == RunStatus.SUCCESSFUL
    assert run.rq_job_id
    assert run.summary["description"] == "command echo from the schedule"
    log = "".join(event.stdout for event in events_after(run.id, 0, 1000))
    assert "from the schedule" in log


def test_interval_fires_every_so_often_from_when_it_was_saved(make):
    job = make.job()
    give(job, kind="interval", every=15, unit="minutes")

    assert scheduler.tick(datetime(2026, 1, 5, 10, 17, 59)) == []
    first = scheduler.tick(datetime(2026, 1, 5, 10, 18))
    assert [f.occurrence for f in first] == [datetime(2026, 1, 5, 10, 18)]
    assert list(entries().values()) == [datetime(2026, 1, 5, 10, 33)]

    hours = give(make.job(), kind="interval", every=2, unit="hours")
    assert hours.next_due() == datetime(2026, 1, 5, 12, 3)


def test_a_one_off_fires_once_and_leaves_no_entry(make):
    job = make.job()
    # 12:00 in Berlin in January is 11:00 UTC.
    give(job, kind="once", run_at=datetime(2026, 1, 5, 12, 0), timezone="Europe/Berlin")

    assert list(entries().values()) == [datetime(2026, 1, 5, 11, 0)]
    assert scheduler.tick(datetime(2026, 1, 5, 10, 59, 59)) == []

    [firing] = scheduler.tick(datetime(2026, 1, 5, 11, 0, 2))

    assert firing.occurrence == datetime(2026, 1, 5, 11, 0)
    assert entries() == {}
    assert scheduler.tick(datetime(2026, 1, 6)) == []
    assert len(runs_of(job)) == 1
    assert job.schedule.next_due() is None


# Disable, edit and delete.


def test_a_disabled_schedule_does_not_fire_and_counts_from_its_return(make):
    job = make.job()
    schedule = give(job, kind="cron", cron="0 * * * *", timezone="UTC")

    schedules.set_enabled(schedule, False, now=datetime(2026, 1, 5, 10, 30))

    assert entries() == {}
    assert scheduler.tick(datetime(2026, 1, 5, 14, 0)) == []

    schedules.set_enabled(schedule, True, now=datetime(2026, 1, 5, 14, 20))

    # The hours it was off are not caught up: the next run is the next hour.
    assert list(entries().values()) == [datetime(2026, 1, 5, 15, 0)]
    assert scheduler.tick(datetime(2026, 1, 5, 14, 59)) == []
    assert [f.occurrence for f in scheduler.tick(datetime(2026, 1, 5, 15, 0))] == [
        datetime(2026, 1, 5, 15, 0)
    ]
    assert [f.missed for f in firings_of(schedule)] == [0]


def test_an_edited_schedule_fires_on_the_new_times_only(make):
    job = make.job()
    schedule = give(job, kind="cron", cron="0 * * * *", timezone="UTC")
    [old] = entries()

    give(job, now=datetime(2026, 1, 5, 10, 5), kind="cron", cron="30 * * * *")

    [new] = entries()
    assert new != old
    assert entries()[new] == datetime(2026, 1, 5, 10, 30)
    assert scheduler.tick(datetime(2026, 1, 5, 11, 0, 10)) != []
    assert [f.occurrence for f in firings_of(schedule)] == [
        datetime(2026, 1, 5, 10, 30)
    ]


def test_an_entry_of_a_changed_schedule_left_in_redis_does_not_fire(make):
    """Redis was down when the job was saved: the old entry is still there."""
    job = make.job()
    schedule = give(job, kind="cron", cron="0 * * * *", timezone="UTC")
    schedule.cron = "30 * * * *"
    schedule.effective_from = datetime(2026, 1, 5, 10, 5)
    db.session.commit()

    assert scheduler.tick(datetime(2026, 1, 5, 11, 0)) == []
    assert entries() == {}
    assert runs_of(job) == []

    scheduler.reconcile()
    assert list(entries().values()) == [datetime(2026, 1, 5, 10, 30)]


def test_a_deleted_job_leaves_no_entry_behind(make):
    job = make.job()
    give(job, kind="cron", cron="0 * * * *", timezone="UTC")
    kept = make.job("kept")
    give(kept, kind="cron", cron="0 * * * *", timezone="UTC")

    job_service.delete_job(job)

    assert [name.split("-")[2] for name in entries()] == [str(kept.schedule.id)]
    assert len(scheduler.tick(datetime(2026, 1, 5, 11, 0))) == 1


def test_removing_a_schedule_from_a_job_cancels_its_entry(make):
    job = make.job("nightly")
    give(job, kind="cron", cron="0 2 * * *", timezone="UTC")

    job_service.update_job(
        job,
        name="nightly",
        kind="adhoc",
        module="ping",
        host_ids=[host.id for host in job.hosts],
        schedule=ScheduleSpec(kind=""),
    )

    assert job.schedule is None
    assert db.session.scalar(select(func.count()).select_from(Schedule)) == 0
    assert entries() == {}


def test_reconciling_leaves_unchanged_entries_alone(make):
    first = give(make.job(), kind="cron", cron="0 * * * *", timezone="UTC")
    give(make.job(), kind="interval", every=5, unit="minutes")
    before = entries()

    result = scheduler.reconcile()

    assert (result.added, result.removed, result.kept) == (0, 0, 2)
    assert entries() == before
    # Unchanged even once due: the entry keeps its time until a tick fires it.
    first.overlap = "allow"  # not part of the times: the entry stays
    db.session.commit()
    assert scheduler.reconcile().kept == 2
    assert entries() == before


# Overlap policy.


def test_skip_records_a_firing_while_the_previous_run_is_queued(make):
    job = make.job("slow")
    schedule = give(job, kind="cron", cron="*/10 * * * *", timezone="UTC")

    scheduler.tick(datetime(2026, 1, 5, 10, 10))
    [busy] = runs_of(job)
    [skipped] = scheduler.tick(datetime(2026, 1, 5, 10, 20))

    assert skipped.outcome == FiringOutcome.SKIPPED
    assert skipped.run_id is None
    assert skipped.note == f"run {busy.id} of this job was still queued"
    assert len(runs_of(job)) == 1
    assert len(firings_of(schedule)) == 2


def test_skip_runs_again_once_the_previous_run_ended(make, run_worker):
    job = make.job()
    give(job, kind="cron", cron="*/10 * * * *", timezone="UTC")

    scheduler.tick(datetime(2026, 1, 5, 10, 10))
    run_worker()
    [firing] = scheduler.tick(datetime(2026, 1, 5, 10, 20))

    assert firing.outcome == FiringOutcome.LAUNCHED
    assert len(runs_of(job)) == 2


def test_allow_runs_anyway(make):
    job = make.job()
    give(job, kind="cron", cron="*/10 * * * *", timezone="UTC", overlap="allow")

    scheduler.tick(datetime(2026, 1, 5, 10, 10))
    [firing] = scheduler.tick(datetime(2026, 1, 5, 10, 20))

    assert firing.outcome == FiringOutcome.LAUNCHED
    assert [run.status for run in runs_of(job)] == [RunStatus.QUEUED] * 2


def test_a_job_the_launch_refuses_records_why(make):
    host = make.host()
    job = make.job(hosts=[host])
    give(job, kind="cron", cron="*/10 * * * *", timezone="UTC")
    db.session.delete(host)
    db.session.commit()

    [firing] = scheduler.tick(datetime(2026, 1, 5, 10, 10))

    assert firing.outcome == FiringOutcome.REFUSED
    assert firing.note == "This job targets no host. Pick a host."
    assert runs_of(job) == []
    # Refused is handled: it is not tried again every tick.
    assert scheduler.tick(datetime(2026, 1, 5, 10, 11)) == []


def test_a_required_parameter_without_default_refuses_a_firing(make):
    version = {"name": "version", "label": "Version", "type": "text"}
    job = make.job(parameters=[{**version, "required": True, "default": None}])
    give(job, kind="cron", cron="*/10 * * * *", timezone="UTC")

    [firing] = scheduler.tick(datetime(2026, 1, 5, 10, 10))

    assert firing.outcome == FiringOutcome.REFUSED
    assert firing.note.endswith("Version is required.")
    assert runs_of(job) == []


# Two schedulers.


def test_two_schedulers_fire_an_occurrence_once(make):
    job = make.job()
    give(job, kind="cron", cron="*/10 * * * *", timezone="UTC", overlap="allow")
    one = scheduler.entry_scheduler(name="one")
    two = scheduler.entry_scheduler(name="two")
    now = datetime(2026, 1, 5, 10, 10)

    fired = scheduler.tick(now, one) + scheduler.tick(now, two)

    assert len(fired) == 1
    assert len(runs_of(job)) == 1


def test_a_scheduler_waits_while_another_holds_the_lock(make):
    job = make.job()
    give(job, kind="cron", cron="*/10 * * * *", timezone="UTC")
    holder = scheduler.entry_scheduler(name="holder")
    assert holder.acquire_lock()

    assert scheduler.tick(datetime(2026, 1, 5, 10, 10)) == []

    holder.remove_lock()
    assert len(scheduler.tick(datetime(2026, 1, 5, 10, 10))) == 1


class _LockLost(scheduler.EntryScheduler):
    """A scheduler whose lock expired under it: it ticks whatever the others do."""

    def acquire_lock(self) -> bool:
        return True


def test_schedulers_racing_without_the_lock_still_fire_once(app, make):
    jobs = [make.job(f"race{n}") for n in range(3)]
    for job in jobs:
        give(job, kind="cron", cron="*/10 * * * *", timezone="UTC", overlap="allow")
    start = threading.Barrier(4)
    fired: list[int] = []
    failures: list[BaseException] = []

    def race(name: str) -> None:
        try:
            with app.app_context():
                racer = _LockLost(
                    queue_name="playdeck-runs",
                    connection=redis_connection(),
                    interval=60,
                    name=name,
                )
                start.wait(timeout=10)
                fired.extend(f.id for f in scheduler.tick(T0.replace(minute=10), racer))
                db.session.remove()
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=race, args=(f"r{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert len(fired) == 3
    for job in jobs:
        assert len(runs_of(job)) == 1


def test_the_database_refuses_a_firing_another_scheduler_recorded(make):
    """A scheduler that read the schedule before another fired it launches nothing."""
    job = make.job()
    schedule = give(job, kind="cron", cron="*/10 * * * *", timezone="UTC")
    now = datetime(2026, 1, 5, 10, 10)
    stale = scheduler.due_now(schedule, now)

    assert scheduler.fire(schedule, now) is not None
    assert scheduler.fire_due(schedule, stale, now) is None

    assert len(runs_of(job)) == 1
    assert len(firings_of(schedule)) == 1


# Downtime.


def test_after_downtime_one_run_catches_up_and_the_missed_are_recorded(make):
    job = make.job()
    schedule = give(job, kind="cron", cron="*/10 * * * *", timezone="UTC")

    # The scheduler was down from before 10:10 to 12:05.
    [firing] = scheduler.tick(datetime(2026, 1, 5, 12, 5))

    assert len(runs_of(job)) == 1
    assert firing.occurrence == datetime(2026, 1, 5, 12, 0)
    assert (firing.missed, firing.missed_since) == (11, datetime(2026, 1, 5, 10, 10))
    assert scheduler.tick(datetime(2026, 1, 5, 12, 6)) == []
    assert list(entries().values()) == [datetime(2026, 1, 5, 12, 10)]
    assert len(firings_of(schedule)) == 1


def test_downtime_catch_up_is_one_run_per_job(make):
    jobs = [make.job() for _ in range(3)]
    for job in jobs:
        give(job, kind="interval", every=1, unit="minutes")

    fired = scheduler.tick(datetime(2026, 1, 6, 10, 3))

    assert len(fired) == 3
    assert [len(runs_of(job)) for job in jobs] == [1, 1, 1]
    assert {(f.missed, f.missed_more) for f in fired} == {(scheduler.MISSED_CAP, True)}


def test_entries_lost_with_redis_come_back_from_the_database(make):
    job = make.job()
    give(job, kind="cron", cron="*/10 * * * *", timezone="UTC")
    scheduler.tick(datetime(2026, 1, 5, 10, 10))
    redis_connection().flushdb()

    scheduler.reconcile()

    # Counted from the last firing the database knows, so what Redis lost while
    # down is caught up, once.
    assert list(entries().values()) == [datetime(2026, 1, 5, 10, 20)]
    [firing] = scheduler.tick(datetime(2026, 1, 5, 11, 0))
    assert (firing.occurrence, firing.missed) == (datetime(2026, 1, 5, 11, 0), 4)


# Daylight saving, through the scheduler.


def _tick_every(start: datetime, end: datetime, step: timedelta) -> list[Firing]:
    fired = []
    now = start
    while now <= end:
        fired += scheduler.tick(now)
        now += step
    return fired


def test_a_berlin_night_job_runs_once_when_the_clocks_fall_back(make):
    job = make.job()
    give(
        job,
        now=datetime(2026, 10, 24, 12),
        kind="cron",
        cron="30 2 * * *",
        timezone="Europe/Berlin",
        overlap="allow",
    )

    fired = _tick_every(
        datetime(2026, 10, 24, 22), datetime(2026, 10, 25, 4), timedelta(minutes=5)
    )

    assert [f.occurrence for f in fired] == [datetime(2026, 10, 25, 0, 30)]
    assert job.schedule.next_due() == datetime(2026, 10, 26, 1, 30)


def test_a_berlin_night_job_runs_at_the_jump_when_the_clocks_spring_forward(make):
    job = make.job()
    give(
        job,
        now=datetime(2026, 3, 28, 12),
        kind="cron",
        cron="30 2 * * *",
        timezone="Europe/Berlin",
        overlap="allow",
    )

    fired = _tick_every(
        datetime(2026, 3, 28, 22), datetime(2026, 3, 29, 4), timedelta(minutes=5)
    )

    # 02:30 does not exist that night: 03:00 CEST, 01:00 UTC.
    assert [f.occurrence for f in fired] == [datetime(2026, 3, 29, 1, 0)]
    assert job.schedule.next_due() == datetime(2026, 3, 30, 0, 30)


# Saving while Redis is down, and the scheduler process's loop.


def test_a_schedule_saved_while_redis_is_down_is_saved_all_the_same(app, make):
    host = make.host()
    redis_url = app.config["PLAYDECK"].redis_url
    with_settings(app, redis_url="unix:///nonexistent/redis.sock")

    job = job_service.create_job(
        name="nightly",
        kind="adhoc",
        module="ping",
        host_ids=[host.id],
        schedule=ScheduleSpec(kind="cron", cron="0 2 * * *", timezone="UTC"),
    )

    assert job.schedule.cron == "0 2 * * *"
    with_settings(app, redis_url=redis_url)
    assert entries() == {}
    scheduler.reconcile()
    assert len(entries()) == 1


def test_the_loop_reconciles_when_it_starts_and_again_now_and_then(make):
    job = make.job()
    give(job, kind="cron", cron="*/10 * * * *", timezone="UTC")
    redis_connection().flushdb()  # as if Redis had restarted empty
    loop = scheduler.SchedulerLoop(interval=5)

    loop.start(datetime(2026, 1, 5, 10, 4))

    assert list(entries().values()) == [datetime(2026, 1, 5, 10, 10)]
    assert scheduler.schedulers_alive() == 1
    assert len(loop.tick(datetime(2026, 1, 5, 10, 10))) == 1

    redis_connection().delete(scheduler.EntryScheduler.scheduled_jobs_key)
    assert loop.tick(datetime(2026, 1, 5, 10, 12)) == []  # reconciled at 10:04
    assert entries() == {}
    assert scheduler.SchedulerLoop.RECONCILE_EVERY <= 600
    # Five minutes on: reconciled again, and the 10:20 entry, back, fires.
    [firing] = loop.tick(datetime(2026, 1, 5, 10, 20))
    assert firing.occurrence == datetime(2026, 1, 5, 10, 20)
    loop.stop()
    assert scheduler.schedulers_alive() == 0
