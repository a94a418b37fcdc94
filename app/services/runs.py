"""Launching, canceling and reading runs."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError
from rq import Callback, Worker
from sqlalchemy import Row, select, update

from app import audit, tasks
from app.crypto import encrypt
from app.extensions import db
from app.models import Event, Firing, Job, Run, RunStatus, RunTrigger
from app.models.audit import AuditAction
from app.models.event import FILE_DIFF, HAS_RESULT, NOTE
from app.models.run import mark_finished
from app.models.timeutil import utc_text, utcnow
from app.models.user import User
from app.queue import cancel_key, redis_connection, run_queue, settings
from app.services import ServiceError, Unavailable, guard, uploads
from app.services import options as option_service
from app.services import parameters as parameter_service
from app.services.parameters import LaunchValues
from app.validation import NAME

log = logging.getLogger(__name__)

# Seconds RQ lets a run's job live beyond the run's own timeout before it kills the
# work-horse itself; the run stops itself well before that.
_RQ_TIMEOUT_MARGIN = 300
# Seconds cancel requests and finished RQ jobs are kept in Redis.
_CANCEL_TTL = 24 * 3600
_RESULT_TTL = 600
# What a relaunch runs on: every host of the original run (as it was limited),
# the hosts that failed, or those that failed or were unreachable.
RELAUNCH_HOSTS = ("all", "failed", "unreachable")


def launch(
    job: Job,
    trigger: RunTrigger = RunTrigger.MANUAL,
    *,
    by: User | None = None,
    extra_vars: dict[str, Any] | None = None,
    limit: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    firing: Firing | None = None,
) -> Run:
    """Create the run as `queued`, commit, then hand its id to the queue.

    If the queue cannot take it, the run ends `error` at once with the reason.
    `extra_vars` win over the job's for this run only, `limit` (an Ansible
    pattern; None keeps the job's) narrows its hosts, `parameters` gives values
    to the job's parameters (`app.services.parameters`) and `options` answers
    the run options the job asks for at launch (`app.services.options`);
    `ServiceError` refuses bad ones, naming each field.
    Rows the caller added to the session are committed with the run: the
    scheduler's record of a firing is, linked to the run by `firing`, so that
    no reader ever sees a launched firing without its run.
    """
    _check_targets(job)
    errors: dict[str, str] = {}
    _check_extra_vars(extra_vars, errors)
    run_options = option_service.for_launch(job, options, errors, limit=limit)
    values = parameter_service.launch_values(job.parameters or [], parameters, errors)
    if errors:
        raise ServiceError("The run was not launched: see the fields marked.", errors)
    uploads.check_launch(job, extra_vars)
    return _start(
        job,
        trigger,
        by=by,
        extra_vars=dict(extra_vars or {}),
        options=run_options,
        values=values,
        firing=firing,
    )


def relaunch(
    run: Run,
    hosts: str = "all",
    *,
    by: User | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> Run:
    """Launch the run's job again with the run's inputs: its parameter values,
    options, launch variables and limit.

    `hosts` "failed" runs on the hosts that failed in `run` only, "unreachable"
    on those that failed or were unreachable, both read from its stored events
    (so it works for a run that ended without ansible's final stats, canceled
    or lost). Secret values are not kept once a run ends: `parameters` must give
    them again (`relaunch_asks` says which). The job is run as it is now, and
    its current parameters decide what values it takes.
    """
    if hosts not in RELAUNCH_HOSTS:
        raise ServiceError(
            "The run was not relaunched.",
            {"hosts": "Choose " + ", ".join(RELAUNCH_HOSTS) + "."},
        )
    job = run.job
    _check_targets(job)
    uploads.check_launch(job, run.extra_vars)
    limit = run.limit or ""
    if hosts != "all":
        if not run.state.terminal:
            raise ServiceError(
                f"Run {run.id} is still {run.status}: relaunch it on its failed "
                "hosts once it has ended."
            )
        chosen = hosts_that_failed(run.id, unreachable=hosts == "unreachable")
        if not chosen:
            which = "failed" if hosts == "failed" else "failed or unreachable"
            raise ServiceError(f"No host {which} in run {run.id}: nothing to relaunch.")
        limit = ",".join(chosen)

    errors: dict[str, str] = {}
    # Options a run from before run options did not record are the job's.
    recorded = {**option_service.of_job(job), **(run.options or {}), "limit": limit}
    run_options = option_service.checked(recorded, job.kind, errors)
    values = parameter_service.launch_values(
        job.parameters or [], parameters, errors, kept=run.parameters or {}
    )
    if errors:
        raise ServiceError("The run was not relaunched: see the fields marked.", errors)
    return _start(
        job,
        RunTrigger.MANUAL,
        by=by,
        extra_vars=dict(run.extra_vars or {}),
        options=run_options,
        values=values,
        relaunch_of=run,
        hosts=hosts,
    )


def relaunch_asks(run: Run) -> list[dict[str, Any]]:
    """The job's parameters a relaunch of `run` must be given a value for: its
    secrets, and any required one added to the job since."""
    errors: dict[str, str] = {}
    parameter_service.launch_values(
        run.job.parameters or [], None, errors, kept=run.parameters or {}
    )
    return [
        parameter
        for parameter in run.job.parameters or []
        if f"parameters.{parameter['name']}" in errors
    ]


def hosts_that_failed(run_id: int, *, unreachable: bool = False) -> list[str]:
    """The hosts of a run with a failed task (not an ignored one), from the
    results its events hold; with `unreachable`, also those ansible could not
    reach. By name.

    A host whose failure a block's rescue caught is counted too: its events do
    not say it was rescued, so a relaunch runs it again.
    """
    results = ["failed", *(["unreachable"] if unreachable else [])]
    return list(
        db.session.scalars(
            select(Event.host)
            .where(
                Event.run_id == run_id,
                Event.result.in_(results),
                # True of every result (see the event sink), and what has the
                # database read the results' index instead of every event of the
                # run: 140 ms on a run of 1,000,000 lines, 1 ms so.
                Event.task_seq >= 0,
                HAS_RESULT,
            )
            .distinct()
            .order_by(Event.host)
        )
    )


def _start(
    job: Job,
    trigger: RunTrigger,
    *,
    by: User | None,
    extra_vars: dict[str, Any],
    options: dict[str, Any],
    values: LaunchValues,
    firing: Firing | None = None,
    relaunch_of: Run | None = None,
    hosts: str = "all",
) -> Run:
    # Refuses what a deny rule matches; the run keeps what a warn rule matched.
    # The guard reads the parameters' values as variables, secrets masked: what
    # it finds is written down (on the run, in the audit trail), and a secret
    # never is. A command hidden in a secret value is not screened.
    screening = guard.screen_launch(
        job, {**extra_vars, **values.masked}, by=by, trigger=trigger
    )
    run = Run(job=job, status=RunStatus.QUEUED, summary=_summary(job), trigger=trigger)
    # Who launched it: given, or whoever is logged in (or runs the command).
    run.launched_by = by or audit.acting_user()
    run.extra_vars = extra_vars
    run.limit = options["limit"]
    run.options = option_service.recorded(options)
    run.parameters = values.masked
    run.secrets = encrypt(json.dumps(values.secrets)) if values.secrets else None
    run.guard_warnings = screening.warnings
    run.relaunch_of = relaunch_of
    db.session.add(run)
    # The RQ job's id is chosen before the job exists and committed with the run:
    # no run ever waits in the database without one, and the reconciler can tell
    # by it that Redis lost a run's job.
    db.session.flush()
    run.rq_job_id = f"playdeck-run-{run.id}"
    if firing is not None:
        firing.run_id = run.id
    db.session.commit()

    audit.record(
        AuditAction.LAUNCH,
        run,
        _launch_summary(run, hosts),
        changes={
            "job": job.name,
            "extra_vars": run.extra_vars,
            "limit": run.limit,
            "parameters": run.parameters,
            "options": run.options,
            **(
                {"relaunch_of": relaunch_of.id, "hosts": hosts}
                if relaunch_of is not None
                else {}
            ),
        },
    )
    guard.record_warnings(run, screening)
    try:
        _enqueue(run, run.rq_job_id)
    except Exception as exc:  # any failure of Redis: the run must not stay queued
        log.error("run %s could not be queued: %s", run.id, exc)
        mark_finished(
            run.id, RunStatus.ERROR, error=f"the run could not be queued: {exc}"
        )
        db.session.refresh(run)
        return run

    log.info("run %s queued for job %s rq_job=%s", run.id, job.id, run.rq_job_id)
    return run


def _launch_summary(run: Run, hosts: str) -> str:
    text = f"run {run.id} of {_what(run.job)} launched"
    if run.relaunch_of_id is not None:
        scope = {"all": "", "failed": " on its failed hosts"}.get(
            hosts, " on its failed and unreachable hosts"
        )
        text += f", a relaunch of run {run.relaunch_of_id}{scope}"
    if run.limit:
        text += f", limit {run.limit}"
    return text


def _check_targets(job: Job) -> None:
    if job.kind == "playbook" and job.playbook is None:
        raise ServiceError("This job has no playbook.", {"playbook": "Choose one."})
    if not job.hosts and not any(group.hosts for group in job.groups):
        raise ServiceError("This job targets no host.", {"hosts": "Pick a host."})


def _enqueue(run: Run, rq_job_id: str) -> None:
    timeout = run.job.timeout or settings().default_timeout
    run_queue().enqueue(
        tasks.execute_run,
        run.id,
        job_id=rq_job_id,
        job_timeout=timeout + settings().stop_grace + _RQ_TIMEOUT_MARGIN,
        result_ttl=_RESULT_TTL,
        on_success=Callback(tasks.on_success),
        on_failure=Callback(tasks.on_failure),
        on_stopped=Callback(tasks.on_stopped),
    )


def requeue(run: Run) -> bool:
    """Queue a run again whose RQ job Redis lost before it started; once only.

    Returns False when the run had left `queued` or was queued again already. The
    run cannot execute twice: a work-horse starts it only from `queued`, once.
    """
    rq_job_id = f"playdeck-run-{run.id}-again"
    claimed = db.session.execute(
        update(Run)
        .where(Run.id == run.id, Run.status == RunStatus.QUEUED, Run.requeued == 0)
        .values(requeued=Run.requeued + 1, rq_job_id=rq_job_id, queued_at=utcnow())
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return False
    # Should Redis fail here, the run waits with a job id Redis does not know:
    # the next reconciliation ends it `error`, as it was queued again already.
    _enqueue(run, rq_job_id)
    log.warning("run %s queued again as %s: Redis lost its job", run.id, rq_job_id)
    return True


def cancel(run: Run, by: str = "someone") -> bool:
    """Ask a run to stop. A queued run ends at once; a running one within seconds.

    `by` says who canceled it, for its log. Returns False when the run had already
    ended; raises Unavailable when Redis does not answer, as a running run could
    not be told to stop.
    """
    if run.state.terminal:
        return False
    try:
        redis_connection().set(cancel_key(run.id), by, ex=_CANCEL_TTL)
    except RedisError as exc:
        log.warning("run %s cannot be canceled: Redis does not answer: %s", run.id, exc)
        raise Unavailable(
            "Redis does not answer, so the run cannot be told to stop. Nothing was "
            "changed: try again once Redis is back."
        ) from exc

    now = utcnow()
    if mark_finished(
        run.id,
        RunStatus.CANCELED,
        only_from=(RunStatus.QUEUED,),
        note=f"Canceled by {by} at {utc_text(now)}",
        error="canceled before it started",
        canceled_by=by,
        cancel_requested_at=now,
    ):
        log.info("run %s canceled by %s before it started", run.id, by)
        _take_off_the_queue(run)
    else:
        # Running: the work-horse sees the flag, stops ansible and writes the end
        # of the log itself. The first person to cancel is the one it names.
        db.session.execute(
            update(Run)
            .where(
                Run.id == run.id,
                Run.status == RunStatus.RUNNING,
                Run.canceled_by.is_(None),
            )
            .values(cancel_requested_at=now, canceled_by=by)
        )
        db.session.commit()
        log.info("run %s asked to stop by %s", run.id, by)
    db.session.refresh(run)
    audit.record(
        AuditAction.CANCEL, run, f"run {run.id} of {_what(run.job)} canceled by {by}"
    )
    return True


def _what(job: Job) -> str:
    """A run's job as the audit trail names it."""
    if job.hidden:
        return f"quick command {job.description}"
    return f"job {job.name}"


def _check_extra_vars(extra_vars: Any, errors: dict[str, str]) -> None:
    if extra_vars is not None and not isinstance(extra_vars, dict):
        errors["extra_vars"] = "Extra variables must be a mapping of names to values."
    elif extra_vars:
        bad = [str(key) for key in extra_vars if not NAME.match(str(key))]
        if bad:
            errors["extra_vars"] = f"Not a valid variable name: {', '.join(bad)}"


def _take_off_the_queue(run: Run) -> None:
    """So that no worker even picks the canceled run up (it would not start it)."""
    if not run.rq_job_id:
        return
    try:
        job = run_queue().fetch_job(run.rq_job_id)
        if job is not None:
            job.cancel()
    except RedisError as exc:
        log.warning("run %s: its RQ job stays queued: %s", run.id, exc)


def workers_alive() -> int | None:
    """How many workers listen to the run queue; None when Redis does not answer."""
    try:
        return Worker.count(queue=run_queue())
    except RedisError as exc:
        log.warning("cannot count workers: %s", exc)
        return None


def _summary(job: Job) -> dict:
    """What is about to run, frozen into the run for its history."""
    return {
        "kind": job.kind,
        "description": job.description,
        "hosts": [host.name for host in job.hosts],
        "groups": [group.name for group in job.groups],
        "credential": job.credential.name if job.credential else None,
        # Hosts targeted, through groups too: how far along an ad-hoc run is.
        "host_count": len(
            {host.id for host in job.hosts}
            | {host.id for group in job.groups for host in group.hosts}
        ),
    }


def file_diffs(run_id: int, limit: int) -> list[Event]:
    """The events in which ansible printed what a task changed (diff mode), in
    order, at most `limit`."""
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.run_id == run_id, Event.type == FILE_DIFF)
            .order_by(Event.seq)
            .limit(limit)
        )
    )


# What a line of the log needs of its event: rows of these, lighter than whole
# events (a result's detail, say, is left out), for windows of thousands.
LINE_COLUMNS = (
    Event.seq,
    Event.type,
    Event.host,
    Event.task,
    Event.stdout,
    Event.result,
)


def _events(run_id: int, host: str | None):
    query = select(*LINE_COLUMNS).where(Event.run_id == run_id)
    if host:
        # (run, host, seq) is indexed: one host's lines are a range of it.
        query = query.where(Event.host == host)
    return query


def events_after(
    run_id: int, after: int, limit: int, host: str | None = None
) -> list[Row]:
    """Events (`LINE_COLUMNS`) with a sequence above `after`, in order, at most
    `limit`; with `host`, only that host's.
    """
    return list(
        db.session.execute(
            _events(run_id, host)
            .where(Event.seq > after)
            .order_by(Event.seq)
            .limit(limit)
        )
    )


def events_before(
    run_id: int, before: int | None, limit: int, host: str | None = None
) -> list[Row]:
    """The `limit` events (`LINE_COLUMNS`) just before sequence `before` (or the
    last ones), in order; with `host`, only that host's.
    """
    query = _events(run_id, host)
    if not host:
        # A run's sequence has no gaps: its last lines are a range of the key,
        # which the database reads as such whatever it believes about the run's
        # size. PostgreSQL, whose statistics had not yet seen a run of 1,000,000
        # lines, sorted all of them to find the last 2,000 (370 ms, not 0.4 ms).
        before = before if before is not None else last_seq(run_id) + 1
        query = query.where(Event.seq >= before - limit)
    if before is not None:
        query = query.where(Event.seq < before)
    rows = db.session.execute(query.order_by(Event.seq.desc()).limit(limit))
    return list(reversed(list(rows)))


def has_events_after(run_id: int, after: int, host: str | None = None) -> bool:
    return (
        db.session.scalar(
            _events(run_id, host)
            .with_only_columns(Event.seq)
            .where(Event.seq > after)
            .limit(1)
        )
        is not None
    )


# Seconds at most that a page goes on polling a run its worker's shutdown
# canceled, for the lines the run's work-horse writes after the run has ended.
CLOSING_SECONDS = 30


def log_complete(run: Run) -> bool:
    """Whether every line of the run's log is stored: the run has ended, and its
    log with it.

    A run's log is complete once the run has ended but in one case: a run
    canceled by its worker's shutdown is ended at once, as the worker may be
    killed seconds later, and its work-horse only then stops ansible and adds
    the last lines and the closing one. Until that line is there, or for
    `CLOSING_SECONDS` at most, its pages go on polling.
    """
    if not run.state.terminal:
        return False
    if run.canceled_by != tasks.SHUTDOWN or run.finished_at is None:
        return True
    if utcnow() - run.finished_at > timedelta(seconds=CLOSING_SECONDS):
        return True
    last = db.session.scalar(
        select(Event.type)
        .where(Event.run_id == run.id)
        .order_by(Event.seq.desc())
        .limit(1)
    )
    return last == NOTE


def last_seq(run_id: int) -> int:
    return (
        db.session.scalar(
            select(Event.seq)
            .where(Event.run_id == run_id)
            .order_by(Event.seq.desc())
            .limit(1)
        )
        or 0
    )


# Events one search request reads at most, and the matches it returns at most.
# A search goes through a long log in slices, one request each, so that none
# takes long whatever the size of the log.
SEARCH_SLICE = 50_000
SEARCH_MATCHES = 50


@dataclass(frozen=True)
class SearchPage:
    # Events as `LINE_COLUMNS`.
    matches: list[Row]
    # The last sequence this page looked at; the next page starts after it.
    searched_to: int
    # The run's last sequence now: the search is over once it reaches it.
    last: int

    @property
    def more(self) -> bool:
        return self.searched_to < self.last


def search_events(
    run_id: int,
    text: str,
    after: int = 0,
    host: str | None = None,
    slice_size: int | None = None,
) -> SearchPage:
    """Events after `after` whose lines hold `text`, any case, in order.

    One page reads at most `slice_size` (`SEARCH_SLICE`) events and returns at most
    `SEARCH_MATCHES`; `searched_to` says where the next page goes on. The text
    is matched against the stored lines, colour codes included: a search for
    words that ansible coloured differently may miss.
    """
    last = last_seq(run_id)
    end = after + (slice_size or SEARCH_SLICE)
    matches = list(
        db.session.execute(
            _events(run_id, host)
            .where(
                Event.seq > after,
                Event.seq <= end,
                Event.stdout.icontains(text, autoescape=True),
            )
            .order_by(Event.seq)
            .limit(SEARCH_MATCHES)
        )
    )
    # A full page stops at its last match; else the whole slice was read.
    full = len(matches) == SEARCH_MATCHES
    searched_to = matches[-1].seq if full else min(end, last)
    return SearchPage(matches, max(searched_to, after), last)
