"""What RQ executes, and its callbacks. The only code a worker runs.

Jobs carry a run id, never objects: the run is read again here, inside the
work-horse. New keyword arguments go last, so that runs queued by an older
version still execute.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import Any

from flask import Flask, current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import command_guard
from app.crypto import decrypt
from app.extensions import db
from app.models import Group, Host, Job, Playbook, Run, RunStatus
from app.models.event import append_note
from app.models.run import mark_finished, mark_running
from app.models.timeutil import utc_text, utcnow
from app.queue import cancel_key, heartbeat_key, redis_connection, settings
from app.runner import process
from app.runner.execute import Outcome, execute
from app.runner.sink import EventSink
from app.runner.spec import (
    CredentialSpec,
    HostSpec,
    RunOptions,
    RunSpec,
    UploadSpec,
    run_marker,
)
from app.runner.workspace import remove_scratch

log = logging.getLogger(__name__)

# Who canceled a run whose worker was shut down, as its log says.
SHUTDOWN = "worker shutdown"

_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """Called by the worker once, before forking, so horses share its setup."""
    global _app
    _app = app


def _the_app() -> Flask:
    global _app
    if _app is None:
        if has_app_context():
            _app = current_app._get_current_object()  # type: ignore[attr-defined]
        else:
            from app import create_app

            _app = create_app()
    return _app


def execute_run(run_id: int) -> dict[str, Any]:
    with _the_app().app_context():
        # A horse must not use the database connections of its parent worker.
        db.engine.dispose(close=False)
        config = settings()
        redis = redis_connection()
        heartbeat = Heartbeat(
            redis, run_id, config.heartbeat_interval, config.heartbeat_ttl
        )
        if not mark_running(run_id):
            log.info("run %s left the queue before it started; not running it", run_id)
            return {"status": None}
        heartbeat.beat()
        log.info("run %s started", run_id)

        run = db.session.scalars(
            select(Run).where(Run.id == run_id).options(*_SPEC_LOADS)
        ).one()
        refused = command_guard.check_at_start(run)
        if refused is not None:
            append_note(run_id, refused)
            return Outcome(RunStatus.ERROR.value, None, {}, refused).as_dict()
        spec = build_spec(run)
        sink = EventSink(
            run_id,
            config.event_batch_size,
            config.event_batch_seconds,
            hide=(
                *(spec.credential.hidden() if spec.credential else ()),
                *spec.secrets,
            ),
        )
        outcome = execute(
            spec,
            config.data_dir,
            sink,
            cancel_requested=lambda: _cancel_requested(redis, run_id),
            grace=config.stop_grace,
            poll_interval=config.poll_interval,
            host_key_checking=config.host_key_checking,
            heartbeat=heartbeat.beat,
        )
        _close_log(run_id, outcome, sink)
        return outcome.as_dict()


# All that build_spec reads, in a few queries instead of one per host: a run over
# 500 hosts started 0.5 s later without them.
_JOB = joinedload(Run.job)
_SPEC_LOADS = (
    _JOB.selectinload(Job.hosts).selectinload(Host.groups),
    _JOB.selectinload(Job.groups).selectinload(Group.hosts).selectinload(Host.groups),
    _JOB.joinedload(Job.playbook).selectinload(Playbook.files),
    _JOB.joinedload(Job.credential),
)


class Heartbeat:
    """Tells the reconciler that the worker running a run is alive.

    A Redis key with a time to live, written at most every `interval` seconds from
    the run's stop control, which ansible-runner calls several times a second.
    The beat stops once the worker that forked this work-horse is gone: the horse
    and ansible go on without it, and the reconciler, seeing the run silent, ends
    the run and kills them by their marker.
    """

    def __init__(self, redis: Redis, run_id: int, interval: float, ttl: int) -> None:
        self.redis = redis
        self.run_id = run_id
        self.interval = interval
        self.ttl = ttl
        self.worker_pid = os.getppid()
        self.orphaned = False
        self._next = 0.0

    def beat(self) -> None:
        now = time.monotonic()
        if now < self._next or self.orphaned:
            return
        self._next = now + self.interval
        if os.getppid() != self.worker_pid:
            self.orphaned = True
            log.warning(
                "run %s: its worker (pid %s) is gone; heartbeat stopped",
                self.run_id,
                self.worker_pid,
            )
            return
        try:
            self.redis.set(
                heartbeat_key(self.run_id),
                f"{socket.gethostname()} {os.getpid()}",
                ex=self.ttl,
            )
        except RedisError as exc:
            log.warning("run %s: heartbeat not written: %s", self.run_id, exc)


def _cancel_requested(redis: Redis, run_id: int) -> bool:
    try:
        return bool(redis.exists(cancel_key(run_id)))
    except RedisError:
        # Redis is away: the run goes on. The heartbeat warns about it every few
        # seconds, and the reconciler decides about the run once Redis is back.
        return False


def _close_log(run_id: int, outcome: Outcome, sink: EventSink) -> None:
    """End the log of a stopped run with a line saying who or what stopped it."""
    when = utc_text(utcnow())
    if outcome.status == RunStatus.TIMEOUT:
        sink.note(f"Timed out: {outcome.error}, at {when}")
    if outcome.status != RunStatus.CANCELED:
        # Nothing to read: a run that ended by itself ends its status sooner.
        return
    db.session.expire_all()
    run = db.session.get(Run, run_id)
    if run.status != RunStatus.ERROR:
        # (An `error` run was ended by the reconciler, which wrote its own line.)
        by = run.canceled_by or "someone"
        if run.cancel_requested_at is not None:
            when = utc_text(run.cancel_requested_at)
        sink.note(f"Canceled by {by} at {when}")


def build_spec(run: Run) -> RunSpec:
    job = run.job
    config = settings()

    hosts: dict[str, Any] = {host.name: host for host in job.hosts}
    group_vars = {}
    for group in job.groups:
        group_vars[group.name] = group.vars
        for host in group.hosts:
            hosts.setdefault(host.name, host)
    for host in hosts.values():
        for group in host.groups:
            group_vars.setdefault(group.name, group.vars)

    credential = None
    if job.credential is not None:
        stored = job.credential
        credential = CredentialSpec(
            kind=stored.kind,
            username=stored.username,
            secret=decrypt(stored.secret_encrypted),
            become_password=(
                decrypt(stored.become_password_encrypted)
                if stored.become_password_encrypted
                else None
            ),
        )

    # The secret values were encrypted into the run at launch; its `parameters`
    # hold them masked.
    secrets = json.loads(decrypt(run.secrets)) if run.secrets else {}
    parameters = {**(run.parameters or {}), **secrets}
    extra_vars = {**(job.extra_vars or {}), **(run.extra_vars or {})}
    for name in parameters:
        # On the command line after the parameters' file: it would win.
        extra_vars.pop(name, None)
    options = {
        name: value
        for name, value in (run.options or {}).items()
        if name in RunOptions.__dataclass_fields__
    }

    playbook_files = {}
    entry = ""
    if job.playbook is not None:
        playbook_files = {f.name: f.content for f in job.playbook.files}
        entry = job.playbook.entry

    return RunSpec(
        run_id=run.id,
        kind=job.kind,
        hosts=tuple(
            HostSpec(
                name=host.name,
                address=host.address,
                port=host.port,
                connection=host.connection,
                vars=dict(host.vars or {}),
                groups=tuple(group.name for group in host.groups),
            )
            for host in sorted(hosts.values(), key=lambda h: h.name)
        ),
        group_vars=group_vars,
        module=job.module,
        args=job.args,
        playbook_files=playbook_files,
        entry=entry,
        # Variables given at launch win over the job's, parameters over both.
        extra_vars=extra_vars,
        limit=run.limit or "",
        # Runs queued before run options existed recorded none: the job's.
        forks=(run.options or {}).get("forks", job.forks),
        options=RunOptions(**options),
        parameters=parameters,
        secrets=tuple(secrets.values()),
        timeout=job.timeout or config.default_timeout,
        credential=credential,
        marker=run_marker(run.id, config.database_url),
        upload=_upload_spec(job),
    )


def _upload_spec(job) -> UploadSpec | None:
    """An upload job's files, read from the database into the work-horse."""
    upload = getattr(job, "upload", None)
    if upload is None:
        return None
    return UploadSpec(
        dest=upload.dest,
        files=tuple((file.name, file.content) for file in upload.files),
        owner=upload.owner,
        mode=upload.mode,
    )


def run_id_of(job) -> int:
    """The run an RQ job carries."""
    return int(job.args[0])


def on_success(job, connection, result, *args, **kwargs) -> None:
    """The work-horse returned: write the outcome it reported."""
    if not result or result.get("status") is None:
        return
    outcome = Outcome(**result)
    with _the_app().app_context():
        mark_finished(
            run_id_of(job),
            RunStatus(outcome.status),
            rc=outcome.rc,
            stats=outcome.stats,
            error=outcome.error,
        )
        log.info("run %s ended %s rc=%s", run_id_of(job), outcome.status, outcome.rc)


def on_failure(job, connection, exc_type, exc_value, traceback) -> None:
    """The job raised (or RQ's own timeout hit): the run ends `error`."""
    with _the_app().app_context():
        reason = f"the run could not be executed: {exc_value}"
        if exc_type is not None and not str(exc_value):
            reason = f"the run could not be executed: {exc_type.__name__}"
        end_lost_run(run_id_of(job), reason)


def on_stopped(job, connection) -> None:
    """Someone stopped the RQ job itself (rq's stop command)."""
    with _the_app().app_context():
        end_lost_run(
            run_id_of(job), "the worker was told to stop this run", canceled=True
        )


def on_horse_killed(job, retpid, ret_val, rusage) -> None:
    """Runs in the worker (not the horse) when the work-horse died under the run.

    RQ calls no failure callback then; without this the run would stay `running`.
    """
    with _the_app().app_context():
        end_lost_run(
            run_id_of(job),
            "the worker process running this job stopped unexpectedly "
            f"(exit status {ret_val}); the run's processes were stopped",
        )


def end_lost_run(
    run_id: int, reason: str, canceled: bool = False, started: bool = True
) -> bool:
    """End a run nothing will end any more, and kill what is left of it here.

    The status and the log's closing line are written first, together, so that
    the run's own work-horse, seeing its ansible killed or its cancel flag,
    cannot end it with another status in between; the events it still writes
    after that line are dropped (see the event sink). Then the run's processes
    and scratch folder on this machine go, whether or not this call ended the
    run. With `started=False` the run is ended only while still `queued`, and
    nothing is killed: once ended it can no longer start, and should it have
    started meanwhile, it is not lost.
    Returns whether this call ended the run.
    """
    status = RunStatus.CANCELED if canceled else RunStatus.ERROR
    only_from = (
        (RunStatus.QUEUED, RunStatus.RUNNING) if started else (RunStatus.QUEUED,)
    )
    note = f"Ended {status} at {utc_text(utcnow())}: {reason}"
    ended = mark_finished(run_id, status, only_from, note=note, error=reason)
    left = 0
    if started:
        left = process.kill_all(run_marker(run_id, settings().database_url))
        # The folder holds the run's credential.
        remove_scratch(settings().data_dir, run_id)
    if not ended:
        return False
    log.warning(
        "run %s ended %s: %s (%s processes killed)", run_id, status, reason, left
    )
    return True


def stop_for_shutdown(run_id: int) -> None:
    """The worker executing this run is asked to stop: the run ends `canceled`.

    Called from the worker's signal handler. The status is written at once, as
    whoever stops the worker may kill it a few seconds later (honcho does after
    5 s); the cancel flag then has the work-horse stop ansible as a cancel does,
    and end the log.
    """
    with _the_app().app_context():
        try:
            redis_connection().set(cancel_key(run_id), SHUTDOWN, ex=3600)
        except RedisError as exc:
            log.warning("run %s: cancel flag not set: %s", run_id, exc)
        if mark_finished(
            run_id,
            RunStatus.CANCELED,
            error="canceled: the worker running it was shut down",
            canceled_by=SHUTDOWN,
            cancel_requested_at=utcnow(),
        ):
            log.warning("run %s canceled: its worker is shutting down", run_id)
