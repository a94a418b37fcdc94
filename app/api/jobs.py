"""/api/v1/jobs: saved definitions, and launching them."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.api import bp
from app.api.common import get_or_404, page_of, refused
from app.api.inputs import (
    ASK_AT_LAUNCH,
    OPTION_FIELDS,
    PARAMETERS,
    options_in,
)
from app.api.runs import LAUNCH, run_json
from app.api.schedules import SCHEDULE, schedule_json, schedule_spec
from app.api.schema import (
    ID,
    ApiError,
    Field,
    body,
    crud_paths,
    error_response,
    id_parameter,
    ids,
    json_response,
    operation,
    ref,
    schema_ref,
)
from app.api.uploads import FIELDS as UPLOAD_FIELDS
from app.api.uploads import upload_input, upload_json
from app.models import Job, JobKind
from app.services import ServiceError
from app.services import jobs as job_service
from app.services import options as option_service
from app.services import runs as run_service
from app.services.jobs import MAX_TIMEOUT, MIN_TIMEOUT

JOB = {
    "id": ID,
    "name": Field("string", "Its name.", required=True, extra={"maxLength": 255}),
    "kind": Field(
        "string",
        "adhoc (one module), playbook, or upload (copies files to the hosts).",
        required=True,
        extra={"enum": [kind.value for kind in JobKind]},
    ),
    "module": Field(
        "string",
        "An ad-hoc job's module, one of the allowed ones (command, shell, ping, ...).",
        extra={"maxLength": 64, "default": ""},
    ),
    "args": Field(
        "string", "The module's arguments.", extra={"maxLength": 10_000, "default": ""}
    ),
    "playbook": ref("A playbook job's playbook id.", nullable=True),
    "hosts": ids("The ids of the hosts it runs on."),
    "groups": ids("The ids of the groups it runs on."),
    "credential": ref("The id of the credential it connects with.", nullable=True),
    **OPTION_FIELDS,
    "timeout": Field(
        "integer",
        "Seconds a run may last; null for the default.",
        nullable=True,
        extra={"minimum": MIN_TIMEOUT, "maximum": MAX_TIMEOUT},
    ),
    "extra_vars": Field(
        "object", "Extra variables, by name.", extra={"additionalProperties": True}
    ),
    "schedule": SCHEDULE,
    **UPLOAD_FIELDS,
    "parameters": PARAMETERS,
    "ask_at_launch": ASK_AT_LAUNCH,
}


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "kind": job.kind,
        "module": job.module,
        "args": job.args,
        "playbook": job.playbook_id,
        "hosts": [host.id for host in job.hosts],
        "groups": [group.id for group in job.groups],
        "credential": job.credential_id,
        **option_service.of_job(job),
        "timeout": job.timeout,
        "extra_vars": job.extra_vars or {},
        "schedule": schedule_json(job.schedule),  # type: ignore[attr-defined]
        "parameters": job.parameters or [],
        "ask_at_launch": job.ask_at_launch or [],
    } | upload_json(job)


def _values(data: dict[str, Any]) -> dict[str, Any]:
    """The service's keyword arguments from the API's fields."""
    return {
        "name": data["name"],
        "kind": data["kind"],
        "module": data.get("module") or "",
        "args": data.get("args") or "",
        "playbook_id": data.get("playbook"),
        "host_ids": data.get("hosts") or [],
        "group_ids": data.get("groups") or [],
        "credential_id": data.get("credential"),
        "forks": data.get("forks", 5),
        "timeout": data.get("timeout"),
        "extra_vars": data.get("extra_vars") or {},
        "parameters": data.get("parameters") or [],
        "options": options_in(data, but="forks"),
        "ask_at_launch": data.get("ask_at_launch") or [],
    }


def _listed(job_id: int) -> Job:
    """A listed job: the hidden ones behind quick commands have no id here."""
    job = get_or_404(Job, job_id, "job")
    if job.hidden:
        raise ApiError(404, f"No job has id {job_id}.")
    return job


@bp.get("/jobs")
def jobs_list():
    query = (
        select(Job)
        .where(Job.hidden.is_(False))
        .options(selectinload(Job.hosts), selectinload(Job.groups))
        .order_by(Job.name)
    )
    return jsonify(page_of(query, job_json))


@bp.post("/jobs")
def job_create():
    data = body(JOB, create=True)
    schedule = schedule_spec(data["schedule"]) if "schedule" in data else None
    try:
        job = job_service.create_job(
            **_values(data), schedule=schedule, upload=upload_input(data, data)
        )
    except ServiceError as error:
        raise refused(error) from error
    location = url_for("api.job_get", job_id=job.id)
    return jsonify(job_json(job)), 201, {"Location": location}


@bp.get("/jobs/<int:job_id>")
def job_get(job_id: int):
    return jsonify(job_json(_listed(job_id)))


@bp.patch("/jobs/<int:job_id>")
def job_update(job_id: int):
    job = _listed(job_id)
    changes = body(JOB)
    data = {**job_json(job), **changes}
    # Left out, the schedule stays as it is (even a one-off whose time passed).
    schedule = schedule_spec(changes["schedule"]) if "schedule" in changes else None
    try:
        job_service.update_job(
            job, **_values(data), schedule=schedule, upload=upload_input(data, changes)
        )
    except ServiceError as error:
        raise refused(error) from error
    return jsonify(job_json(job))


@bp.delete("/jobs/<int:job_id>")
def job_delete(job_id: int):
    try:
        job_service.delete_job(_listed(job_id))
    except ServiceError as error:
        raise refused(error) from error
    return "", 204


@bp.post("/jobs/<int:job_id>/launch")
def job_launch(job_id: int):
    """Queue a run of the job; 202, since it has not run yet."""
    job = _listed(job_id)
    data = body(LAUNCH, optional=True)
    try:
        run = run_service.launch(
            job,
            by=current_user._get_current_object(),
            extra_vars=data.get("extra_vars") or {},
            limit=data.get("limit"),
            parameters=data.get("parameters") or {},
            options=options_in(data, but="limit"),
        )
    except ServiceError as error:
        raise refused(error) from error
    location = url_for("api.run_get", run_id=run.id)
    return jsonify(run_json(run)), 202, {"Location": location}


SCHEMAS = {"Job": JOB}
PATHS = {
    **crud_paths("jobs", "job", "Job", who="operator", conflict=True),
    "/jobs/{job_id}/launch": {
        "parameters": [id_parameter("job_id", "job")],
        "post": operation(
            "Launch a run of the job (operator)",
            {
                202: json_response("The run, queued.", schema_ref("Run")),
                404: error_response("No job has this id."),
                422: error_response(
                    "The job cannot run, or a field is refused: a parameter's "
                    "value (parameters.<name>), an option the job does not ask "
                    "for at launch."
                ),
            },
            request="Launch",
            request_required=False,
            tag="Jobs",
        ),
    },
}
