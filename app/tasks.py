"""What RQ executes, and its callbacks. The only code a worker runs.

Jobs carry a run id, never objects: the run is read again here, inside the
work-horse. New keyword arguments go last, so that runs queued by an older
version still execute.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, has_app_context

from app.crypto import decrypt
from app.extensions import db
from app.models import Run, RunStatus
from app.models.run import mark_finished, mark_running
from app.queue import cancel_key, redis_connection, settings
from app.runner import process
from app.runner.execute import Outcome, execute
from app.runner.sink import EventSink
from app.runner.spec import CredentialSpec, HostSpec, RunSpec, run_marker

log = logging.getLogger(__name__)

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
        if not mark_running(run_id):
            log.info("run %s left the queue before it started; not running it", run_id)
            return {"status": None}
        log.info("run %s started", run_id)

        run = db.session.get(Run, run_id)
        spec = build_spec(run)
        config = settings()
        redis = redis_connection()
        sink = EventSink(run_id, config.event_batch_size, config.event_batch_seconds)
        outcome = execute(
            spec,
            config.data_dir,
            sink,
            cancel_requested=lambda: bool(redis.exists(cancel_key(run_id))),
            grace=config.stop_grace,
            poll_interval=config.poll_interval,
            host_key_checking=config.host_key_checking,
        )
        return outcome.as_dict()


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
        extra_vars=dict(job.extra_vars or {}),
        forks=job.forks,
        timeout=job.timeout or config.default_timeout,
        credential=credential,
        marker=run_marker(run.id, config.database_url),
    )


def _run_id(job) -> int:
    return int(job.args[0])


def on_success(job, connection, result, *args, **kwargs) -> None:
    """The work-horse returned: write the outcome it reported."""
    if not result or result.get("status") is None:
        return
    outcome = Outcome(**result)
    with _the_app().app_context():
        mark_finished(
            _run_id(job),
            RunStatus(outcome.status),
            rc=outcome.rc,
            stats=outcome.stats,
            error=outcome.error,
        )
        log.info("run %s ended %s rc=%s", _run_id(job), outcome.status, outcome.rc)


def on_failure(job, connection, exc_type, exc_value, traceback) -> None:
    """The job raised (or RQ's own timeout hit): the run ends `error`."""
    with _the_app().app_context():
        reason = f"the run could not be executed: {exc_value}"
        if exc_type is not None and not str(exc_value):
            reason = f"the run could not be executed: {exc_type.__name__}"
        _end_lost_run(_run_id(job), reason)


def on_stopped(job, connection) -> None:
    """Someone stopped the RQ job itself (rq's stop command)."""
    with _the_app().app_context():
        _end_lost_run(
            _run_id(job), "the worker was told to stop this run", canceled=True
        )


def on_horse_killed(job, retpid, ret_val, rusage) -> None:
    """Runs in the worker (not the horse) when the work-horse died under the run.

    RQ calls no failure callback then; without this the run would stay `running`.
    """
    with _the_app().app_context():
        _end_lost_run(
            _run_id(job),
            "the worker process running this job stopped unexpectedly "
            f"(exit status {ret_val}); the run's processes were stopped",
        )


def _end_lost_run(run_id: int, reason: str, canceled: bool = False) -> None:
    marker = run_marker(run_id, settings().database_url)
    left = process.kill_all(marker)
    status = RunStatus.CANCELED if canceled else RunStatus.ERROR
    if mark_finished(run_id, status, error=reason):
        log.warning(
            "run %s ended %s: %s (%s processes killed)", run_id, status, reason, left
        )
