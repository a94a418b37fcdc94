"""/api/v1/runs: runs newest first, one run, its events after a cursor, cancel."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask_login import current_user
from sqlalchemy import select

from app.api import bp
from app.api.common import get_or_404, iso, page_of, refused
from app.api.inputs import OPTION_FIELDS, VALUES
from app.api.schema import (
    ID,
    MAX_ID,
    PAGING_PARAMETERS,
    ApiError,
    Field,
    body,
    error_response,
    id_parameter,
    json_response,
    operation,
    page_schema,
    query_choice,
    query_int,
    ref,
    schema_ref,
)
from app.models import Event, Run, RunStatus
from app.models.run import MASKED, STAT_KEYS
from app.services import ServiceError
from app.services import options as option_service
from app.services import runs as run_service

STATUSES = tuple(status.value for status in RunStatus)
# Events one request returns at most, and by default.
MAX_EVENTS = 1000
EVENTS = 200

_TIME = {"format": "date-time"}
RUN = {
    "id": ID,
    "job": ref("The id of the job it ran."),
    "status": Field("string", "Where it stands.", extra={"enum": list(STATUSES)}),
    "queued_at": Field("string", "When it was queued (UTC).", extra=_TIME),
    "started_at": Field("string", "When it started.", nullable=True, extra=_TIME),
    "finished_at": Field("string", "When it ended.", nullable=True, extra=_TIME),
    "rc": Field("integer", "ansible's exit code, once ended.", nullable=True),
    "stats": Field(
        "object",
        "Per host, ansible's counters: " + ", ".join(STAT_KEYS) + ".",
        extra={
            "additionalProperties": {
                "type": "object",
                "properties": {key: {"type": "integer"} for key in STAT_KEYS},
            }
        },
    ),
    "error": Field("string", "Why it ended error, canceled or timeout; or empty."),
    "launched_by": Field(
        "string", "The user name of whoever launched it.", nullable=True
    ),
    "extra_vars": Field(
        "object",
        "Variables given at launch, over the job's.",
        extra={"additionalProperties": True},
    ),
    "limit": Field("string", "The Ansible limit it ran with, or empty."),
    "guard_warnings": Field(
        "array",
        "What the command guard's warn rules found: per command, the rule's id "
        "and pattern, where the command is and the command.",
        extra={
            "items": {
                "type": "object",
                "properties": {
                    "rule": {"type": "integer", "nullable": True},
                    "pattern": {"type": "string"},
                    "where": {"type": "string"},
                    "command": {"type": "string"},
                },
            }
        },
    ),
    "parameters": Field(
        "object",
        f"The values of the job's parameters it was launched with; secret ones "
        f"read {MASKED}.",
        extra={"additionalProperties": True},
    ),
    "options": Field(
        "object",
        "The run options ansible was given (but the limit): "
        + ", ".join(option_service.RUN_NAMES)
        + ".",
        extra={
            "properties": {
                name: OPTION_FIELDS[name].schema() for name in option_service.RUN_NAMES
            },
            "additionalProperties": False,
        },
    ),
    "relaunch_of": ref("The run this one repeats, if it is a relaunch.", nullable=True),
}

LAUNCH = {
    "extra_vars": Field(
        "object",
        "Variables for this run only; they win over the job's.",
        extra={"additionalProperties": True},
    ),
    "limit": Field(
        "string",
        "An Ansible host pattern narrowing the job's hosts, as --limit takes it; "
        "it replaces the job's limit. Any launch may give it.",
        extra={"maxLength": option_service.MAX_LIMIT},
    ),
    "parameters": VALUES,
    # The other run options: only those the job asks for at launch.
    **{
        name: Field(
            field.type,
            field.description + " Only when the job asks for it at launch.",
            extra={k: v for k, v in field.extra.items() if k != "default"},
        )
        for name, field in OPTION_FIELDS.items()
        if name != "limit"
    },
}

RELAUNCH = {
    "hosts": Field(
        "string",
        "all: the hosts of the run (as it was limited); failed: those that "
        "failed in it; unreachable: those that failed or were unreachable. Read "
        "from its events, so it works for a run canceled or lost.",
        extra={"enum": list(run_service.RELAUNCH_HOSTS), "default": "all"},
    ),
    "parameters": Field(
        "object",
        "Values of secret parameters, which are not kept once a run ends, and of "
        "parameters added to the job since; the rest are the run's.",
        extra={"additionalProperties": True},
    ),
}

EVENT = {
    "seq": Field("integer", "Its place in the run: 1, 2, 3 ...", extra={"minimum": 1}),
    "type": Field("string", "ansible-runner's event name (runner_on_ok, ...)."),
    "host": Field("string", "The host it is about, if any.", nullable=True),
    "task": Field("string", "The task it is about, if any.", nullable=True),
    "stdout": Field("string", "What ansible printed for it (ANSI colours kept)."),
}


def run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "job": run.job_id,
        "status": run.status,
        "queued_at": iso(run.queued_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "rc": run.rc,
        "stats": run.stats or {},
        "error": run.error or "",
        "launched_by": run.launched_by.username if run.launched_by else None,
        "extra_vars": run.extra_vars or {},
        "limit": run.limit or "",
        "guard_warnings": run.guard_warnings or [],
        "parameters": run.parameters or {},
        "options": run.options or {},
        "relaunch_of": run.relaunch_of_id,
    }


def event_json(event: Event) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "type": event.type,
        "host": event.host,
        "task": event.task,
        "stdout": event.stdout,
    }


@bp.get("/runs")
def runs_list():
    status = query_choice("status", STATUSES)
    job_id = query_int("job", None, 1, MAX_ID)
    query = select(Run).order_by(Run.id.desc())
    if status:
        query = query.where(Run.status == status)
    if job_id is not None:
        query = query.where(Run.job_id == job_id)
    return jsonify(page_of(query, run_json))


@bp.get("/runs/<int:run_id>")
def run_get(run_id: int):
    return jsonify(run_json(get_or_404(Run, run_id, "run")))


@bp.get("/runs/<int:run_id>/events")
def run_events(run_id: int):
    """Events after the cursor `after`; `next` is the cursor to send next time."""
    run = get_or_404(Run, run_id, "run")
    after = query_int("after", 0, 0, MAX_ID)
    limit = query_int("limit", EVENTS, 1, MAX_EVENTS)
    assert after is not None and limit is not None

    # The status before the events: once the log is complete, a short page is
    # its end.
    complete = run_service.log_complete(run)
    events = run_service.events_after(run.id, after, limit)
    return jsonify(
        {
            "events": [event_json(event) for event in events],
            "next": events[-1].seq if events else after,
            "done": complete and len(events) < limit,
        }
    )


@bp.post("/runs/<int:run_id>/cancel")
def run_cancel(run_id: int):
    """Ask the run to stop: 202 with the run, 409 when it had already ended."""
    run = get_or_404(Run, run_id, "run")
    if not run_service.cancel(run, by=current_user.username):
        raise ApiError(409, f"Run {run.id} had already ended ({run.status}).")
    return jsonify(run_json(run)), 202


@bp.post("/runs/<int:run_id>/relaunch")
def run_relaunch(run_id: int):
    """Launch the run's job again with its inputs, on all or its failed hosts."""
    run = get_or_404(Run, run_id, "run")
    data = body(RELAUNCH, optional=True)
    try:
        again = run_service.relaunch(
            run,
            data.get("hosts") or "all",
            by=current_user._get_current_object(),
            parameters=data.get("parameters") or {},
        )
    except ServiceError as error:
        raise refused(error) from error
    location = url_for("api.run_get", run_id=again.id)
    return jsonify(run_json(again)), 202, {"Location": location}


SCHEMAS = {"Run": RUN, "Event": EVENT}
WRITE_SCHEMAS = {"Launch": LAUNCH, "Relaunch": RELAUNCH}
_UNKNOWN = error_response("No run has this id.")
PATHS = {
    "/runs": {
        "get": operation(
            "Runs, newest first",
            {200: json_response("A page of runs.", page_schema("Run"))},
            parameters=[
                *PAGING_PARAMETERS,
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": list(STATUSES)},
                    "description": "Only runs with this status.",
                },
                {
                    "name": "job",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                    "description": "Only runs of this job.",
                },
            ],
            tag="Runs",
        )
    },
    "/runs/{run_id}": {
        "parameters": [id_parameter("run_id", "run")],
        "get": operation(
            "One run: status, times, rc, per-host stats, error",
            {200: json_response("The run.", schema_ref("Run")), 404: _UNKNOWN},
            tag="Runs",
        ),
    },
    "/runs/{run_id}/events": {
        "parameters": [id_parameter("run_id", "run")],
        "get": operation(
            "The run's events after a cursor",
            {
                200: json_response(
                    "Events in order, the next cursor, and whether the run ended "
                    "and every event was sent.",
                    {
                        "type": "object",
                        "properties": {
                            "events": {"type": "array", "items": schema_ref("Event")},
                            "next": {"type": "integer", "minimum": 0},
                            "done": {"type": "boolean"},
                        },
                        "required": ["events", "next", "done"],
                    },
                ),
                404: _UNKNOWN,
            },
            parameters=[
                {
                    "name": "after",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": MAX_ID,
                        "default": 0,
                    },
                    "description": "Events after this sequence number; 0 for all.",
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_EVENTS,
                        "default": EVENTS,
                    },
                    "description": "Events at most.",
                },
            ],
            tag="Runs",
        ),
    },
    "/runs/{run_id}/relaunch": {
        "parameters": [id_parameter("run_id", "run")],
        "post": operation(
            "Launch the run's job again with the run's inputs (operator)",
            {
                202: json_response("The new run, queued.", schema_ref("Run")),
                404: _UNKNOWN,
                409: error_response(
                    "No host to relaunch on: none failed, or the run has not ended."
                ),
                422: error_response(
                    "A field is refused: a secret to give again "
                    "(parameters.<name>), a job that cannot run."
                ),
            },
            request="Relaunch",
            request_required=False,
            tag="Runs",
        ),
    },
    "/runs/{run_id}/cancel": {
        "parameters": [id_parameter("run_id", "run")],
        "post": operation(
            "Ask the run to stop (operator)",
            {
                202: json_response("The run, asked to stop.", schema_ref("Run")),
                404: _UNKNOWN,
                409: error_response("The run had already ended."),
            },
            tag="Runs",
        ),
    },
}
