"""Creating, changing and deleting jobs, and the hidden jobs behind quick commands.

Every rule of a job lives here, not in the forms, so that the pages and a JSON API
refuse the same input with the same messages: an ad-hoc job names a module of the
allow-list (and its arguments when the module needs them), a playbook job names a
playbook, an upload job its files and where they go (see `app.services.uploads`),
and every job targets at least one host or group. A job's schedule, its
parameters and its run options are checked and saved with it (see
`app.services.schedules`, `app.services.parameters`, `app.services.options`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.extensions import db
from app.models import (
    AuditAction,
    Credential,
    Group,
    Host,
    Job,
    JobKind,
    Playbook,
    Run,
    RunStatus,
)
from app.models.timeutil import utcnow
from app.queue import settings
from app.services import ServiceError, runs, schedules, uploads
from app.services import options as option_service
from app.services import parameters as parameter_service
from app.services.scheduler import reconcile_after_change
from app.services.schedules import ScheduleSpec
from app.services.uploads import UploadInput
from app.validation import NAME

log = logging.getLogger(__name__)

# Modules that do nothing useful without arguments: the command to run, the script.
ARGS_REQUIRED = frozenset({"command", "shell", "raw", "script"})
# Seconds; a day is longer than any run this console is meant for.
MIN_TIMEOUT, MAX_TIMEOUT = 1, 86400
MAX_NAME = 255
NOT_SAVED = "The job was not saved: see the fields marked."


def create_job(
    *,
    name: str,
    kind: str,
    module: str = "",
    args: str = "",
    playbook_id: int | None = None,
    host_ids: Iterable[int] = (),
    group_ids: Iterable[int] = (),
    credential_id: int | None = None,
    forks: int = 5,
    timeout: int | None = None,
    extra_vars: dict[str, Any] | None = None,
    hidden: bool = False,
    schedule: ScheduleSpec | None = None,
    upload: UploadInput | None = None,
    parameters: list[dict[str, Any]] | None = None,
    options: Mapping[str, Any] | None = None,
    ask_at_launch: list[str] | None = None,
) -> Job:
    """A new job, checked as a whole; `ServiceError.fields` holds every problem.

    `schedule` None means the job has none; `upload` is what an upload job
    copies. `parameters` are checked by `app.services.parameters`; `options`
    holds the run options but forks (by name, see `app.services.options`), and
    `ask_at_launch` the names of those the launch asks for.
    """
    values = _checked(
        None,
        name=name,
        kind=kind,
        module=module,
        args=args,
        playbook_id=playbook_id,
        host_ids=host_ids,
        group_ids=group_ids,
        credential_id=credential_id,
        forks=forks,
        timeout=timeout,
        extra_vars=extra_vars,
        schedule=schedule,
        upload=upload,
        parameters=parameters,
        options=options,
        ask_at_launch=ask_at_launch,
    )

    job = Job(hidden=hidden)
    _assign(job, values)
    db.session.add(job)
    _commit(values["name"], None)

    log.info("job created id=%s name=%s kind=%s", job.id, job.name, job.kind)
    if not hidden:  # a quick command's job is recorded with its launch
        audit.record(
            AuditAction.CREATE, job, f"job {job.name} created", changes=_view(job)
        )
    if job.schedule is not None:
        reconcile_after_change()
    return job


def update_job(
    job: Job,
    *,
    name: str,
    kind: str,
    module: str = "",
    args: str = "",
    playbook_id: int | None = None,
    host_ids: Iterable[int] = (),
    group_ids: Iterable[int] = (),
    credential_id: int | None = None,
    forks: int = 5,
    timeout: int | None = None,
    extra_vars: dict[str, Any] | None = None,
    schedule: ScheduleSpec | None = None,
    upload: UploadInput | None = None,
    parameters: list[dict[str, Any]] | None = None,
    options: Mapping[str, Any] | None = None,
    ask_at_launch: list[str] | None = None,
) -> Job:
    """Replace the job's definition. Runs already made keep their frozen summary.

    `schedule` None keeps the job's schedule as it is; a spec of kind "" removes
    it. `upload` None keeps an upload job's files and destination as they are;
    `parameters`, `options` and `ask_at_launch` None keep the job's too.
    """
    values = _checked(
        job,
        name=name,
        kind=kind,
        module=module,
        args=args,
        playbook_id=playbook_id,
        host_ids=host_ids,
        group_ids=group_ids,
        credential_id=credential_id,
        forks=forks,
        timeout=timeout,
        extra_vars=extra_vars,
        schedule=schedule,
        upload=upload,
        parameters=parameters,
        options=options,
        ask_at_launch=ask_at_launch,
    )

    had_schedule = job.schedule is not None
    before = _view(job)
    _assign(job, values)
    _commit(values["name"], job.id)

    log.info("job updated id=%s name=%s kind=%s", job.id, job.name, job.kind)
    changes = audit.changed(before, _view(job))
    audit.record(
        AuditAction.UPDATE,
        job,
        f"job {job.name} changed: {', '.join(changes) or 'nothing'}",
        changes=changes,
    )
    if had_schedule or job.schedule is not None:
        reconcile_after_change()
    return job


def check_job(
    job: Job | None = None,
    *,
    name: str,
    kind: str,
    module: str = "",
    args: str = "",
    playbook_id: int | None = None,
    host_ids: Iterable[int] = (),
    group_ids: Iterable[int] = (),
    credential_id: int | None = None,
    forks: int = 5,
    timeout: int | None = None,
    extra_vars: dict[str, Any] | None = None,
    schedule: ScheduleSpec | None = None,
    upload: UploadInput | None = None,
    parameters: list[dict[str, Any]] | None = None,
    options: Mapping[str, Any] | None = None,
    ask_at_launch: list[str] | None = None,
) -> None:
    """The checks of `create_job` (or of `update_job` for `job`) without saving."""
    _checked(
        job,
        name=name,
        kind=kind,
        module=module,
        args=args,
        playbook_id=playbook_id,
        host_ids=host_ids,
        group_ids=group_ids,
        credential_id=credential_id,
        forks=forks,
        timeout=timeout,
        extra_vars=extra_vars,
        schedule=schedule,
        upload=upload,
        parameters=parameters,
        options=options,
        ask_at_launch=ask_at_launch,
    )


def delete_job(job: Job) -> None:
    """Delete a job and its runs' history; refused while one of its runs is going.

    A worker executing a run of a deleted job would lose the row it reports to.
    """
    active = db.session.scalar(
        select(Run.id)
        .where(
            Run.job_id == job.id,
            Run.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)),
        )
        .limit(1)
    )
    if active is not None:
        raise ServiceError(
            f"Job {job.name} has a run in progress (run {active}): cancel it or "
            "wait for it to end, then delete the job."
        )

    job_id, name = job.id, job.name
    gone = audit.ref(job)
    had_schedule = job.schedule is not None
    db.session.delete(job)
    db.session.commit()
    log.info("job deleted id=%s name=%s", job_id, name)
    audit.record(AuditAction.DELETE, gone, f"job {name} and its runs deleted")
    if had_schedule:
        reconcile_after_change()


def quick_job(
    *,
    module: str,
    args: str = "",
    host_ids: Iterable[int] = (),
    group_ids: Iterable[int] = (),
    credential_id: int | None = None,
) -> Job:
    """The hidden ad-hoc job behind a quick command, ready to launch.

    It is kept so the command's runs have a job like any other, but it is never
    listed among the jobs. Its name only has to be unique.
    """
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return create_job(
        name=f"quick-{stamp}-{secrets.token_hex(3)}",
        kind=JobKind.ADHOC,
        module=module,
        args=args,
        host_ids=host_ids,
        group_ids=group_ids,
        credential_id=credential_id,
        hidden=True,
    )


def run_quick_command(
    *,
    module: str,
    args: str = "",
    host_ids: Iterable[int] = (),
    group_ids: Iterable[int] = (),
    credential_id: int | None = None,
) -> Run:
    """Create the hidden job of a quick command and launch it at once.

    When the launch refuses (say, the groups picked hold no host) the hidden job
    is removed again: it would be a job nobody can see, with no run.
    """
    job = quick_job(
        module=module,
        args=args,
        host_ids=host_ids,
        group_ids=group_ids,
        credential_id=credential_id,
    )
    try:
        return runs.launch(job)
    except ServiceError:
        db.session.delete(job)
        db.session.commit()
        raise


def last_runs(job_ids: Iterable[int]) -> dict[int, Run]:
    """The newest run of each of these jobs, by job id, in one query."""
    ids = list(job_ids)
    if not ids:
        return {}
    newest = select(func.max(Run.id)).where(Run.job_id.in_(ids)).group_by(Run.job_id)
    runs = db.session.scalars(select(Run).where(Run.id.in_(newest)))
    return {run.job_id: run for run in runs}


def recent_runs(job: Job, limit: int = 20) -> list[Run]:
    return list(
        db.session.scalars(
            select(Run).where(Run.job_id == job.id).order_by(Run.id.desc()).limit(limit)
        )
    )


def recent_quick_runs(limit: int = 10) -> list[Run]:
    """The latest runs of quick commands, for the quick command page."""
    return list(
        db.session.scalars(
            select(Run)
            .join(Run.job)
            .where(Job.hidden.is_(True))
            .order_by(Run.id.desc())
            .limit(limit)
        )
    )


def _checked(job: Job | None, **raw: Any) -> dict[str, Any]:
    """The values to store, or a `ServiceError` naming every field that is wrong."""
    errors: dict[str, str] = {}
    name = (raw["name"] or "").strip()
    kind = raw["kind"] or ""
    module = (raw["module"] or "").strip()
    args = (raw["args"] or "").strip()

    if not name:
        errors["name"] = "A job needs a name."
    elif len(name) > MAX_NAME:
        errors["name"] = f"A name has at most {MAX_NAME} characters."
    elif _name_taken(name, job.id if job is not None else None):
        errors["name"] = f"A job named {name} already exists."

    playbook = upload = None
    if kind == JobKind.ADHOC:
        if not module:
            errors["module"] = "Choose the module to run."
        elif module not in settings().adhoc_modules:
            errors["module"] = f"Unknown module: {module}."
        elif module in ARGS_REQUIRED and not args:
            errors["args"] = f"The {module} module needs arguments: what to run."
    elif kind == JobKind.PLAYBOOK:
        if raw["playbook_id"] is None:
            errors["playbook"] = "Choose the playbook to run."
        else:
            playbook = db.session.get(Playbook, raw["playbook_id"])
            if playbook is None:
                errors["playbook"] = "Unknown playbook."
    elif kind == JobKind.UPLOAD:
        upload = uploads.checked(job, raw["upload"], errors)
        if raw["extra_vars"]:
            errors["extra_vars"] = "An upload job runs only its copy: no variables."
    else:
        errors["kind"] = "Choose ad-hoc, playbook or upload."

    hosts = _rows(Host, raw["host_ids"], "hosts", errors)
    groups = _rows(Group, raw["group_ids"], "groups", errors)
    if not hosts and not groups and "hosts" not in errors and "groups" not in errors:
        errors["hosts"] = "Pick at least one host or group."

    credential = None
    if raw["credential_id"] is not None:
        credential = db.session.get(Credential, raw["credential_id"])
        if credential is None:
            errors["credential"] = "Unknown credential."

    keep = job is not None
    given_options = raw["options"]
    if given_options is None:
        given_options = option_service.of_job(job) if keep else {}
    run_options = option_service.checked(
        {**given_options, "forks": raw["forks"]}, kind, errors
    )
    ask = raw["ask_at_launch"]
    ask_at_launch = option_service.checked_ask(
        list(job.ask_at_launch or ()) if ask is None and keep else ask, kind, errors
    )
    given_parameters = raw["parameters"]
    if given_parameters is None and keep:
        given_parameters = list(job.parameters or ())
    checked_parameters = parameter_service.checked_definitions(given_parameters, errors)
    if kind == JobKind.UPLOAD and checked_parameters:
        errors["parameters"] = "An upload job runs only its copy: no parameters."

    timeout = raw["timeout"]
    if timeout is not None and (
        type(timeout) is not int or not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT
    ):
        errors["timeout"] = (
            f"A timeout is between {MIN_TIMEOUT} and {MAX_TIMEOUT} seconds; "
            "leave it empty for the default."
        )

    extra_vars = raw["extra_vars"] or {}
    if not isinstance(extra_vars, dict):
        errors["extra_vars"] = "Extra variables must be a mapping of names to values."
    else:
        bad = [str(key) for key in extra_vars if not NAME.match(str(key))]
        if bad:
            errors["extra_vars"] = f"Not a valid variable name: {', '.join(bad)}"

    checked_schedule = None
    if raw["schedule"] is not None:
        checked_schedule = schedules.checked(raw["schedule"], errors, utcnow())

    if errors:
        raise ServiceError(NOT_SAVED, errors)

    adhoc = kind == JobKind.ADHOC
    return {
        "name": name,
        "kind": kind,
        # A job keeps only what its kind uses, so its description never lies.
        "module": module if adhoc else "",
        "args": args if adhoc else "",
        "playbook": None if adhoc else playbook,
        "hosts": hosts,
        "groups": groups,
        "credential": credential,
        "timeout": timeout,
        "extra_vars": extra_vars,
        "upload": upload,
        "parameters": checked_parameters,
        "ask_at_launch": ask_at_launch,
        **run_options,
    } | ({} if raw["schedule"] is None else {"schedule": checked_schedule})


def _view(job: Job) -> dict[str, Any]:
    """A job as the audit trail keeps it: related rows by name."""
    return {
        "name": job.name,
        "kind": job.kind,
        "module": job.module,
        "args": job.args,
        "playbook": job.playbook.name if job.playbook else None,
        "hosts": [host.name for host in job.hosts],
        "groups": [group.name for group in job.groups],
        "credential": job.credential.name if job.credential else None,
        "timeout": job.timeout,
        "extra_vars": dict(job.extra_vars or {}),
        "upload": uploads.view(job),
        "parameters": list(job.parameters or ()),
        "ask_at_launch": list(job.ask_at_launch or ()),
        **option_service.of_job(job),
    }


def _rows(
    model: type[Host] | type[Group],
    ids: Iterable[int],
    field: str,
    errors: dict[str, str],
) -> list[Any]:
    wanted = set(ids or ())
    if not wanted:
        return []
    rows = list(
        db.session.scalars(
            select(model).where(model.id.in_(wanted)).order_by(model.name)
        )
    )
    missing = wanted - {row.id for row in rows}
    if missing:
        listed = ", ".join(str(value) for value in sorted(missing))
        errors[field] = f"Unknown {field}: {listed}. Reload the page and pick again."
    return rows


def _assign(job: Job, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "schedule":
            schedules.apply(job, value, utcnow())
        elif key == "upload":
            uploads.apply(job, value)
        else:
            setattr(job, key, value)


def _name_taken(name: str, job_id: int | None) -> bool:
    query = select(Job.id).where(Job.name == name)
    if job_id is not None:
        query = query.where(Job.id != job_id)
    return db.session.scalar(query) is not None


def _commit(name: str, job_id: int | None) -> None:
    """Commit; a name another request took meanwhile becomes a field error."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        log.warning("job %s not saved: %s", name, exc.orig)
        if _name_taken(name, job_id):
            raise ServiceError(
                NOT_SAVED, {"name": f"A job named {name} already exists."}
            ) from exc
        raise ServiceError(
            "The job was not saved: a host, group, playbook or credential it names "
            "was deleted meanwhile. Check the form and save again."
        ) from exc
