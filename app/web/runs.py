"""Run pages: the list, one run with its live log, cancel and the raw log."""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import Job, Run, RunStatus
from app.queue import settings
from app.services import runs as run_service

bp = Blueprint("runs", __name__, url_prefix="/runs")

# Events one poll returns at most; a page behind by more asks again at once.
POLL_LIMIT = 1000
# HTMX stops polling on this status (see htmx's documentation of `every`).
STOP_POLLING = 286

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@bp.get("/")
def index():
    status = request.args.get("status", "")
    job_id = request.args.get("job", type=int)

    query = select(Run).order_by(Run.id.desc())
    if status in RunStatus.__members__.values():
        query = query.where(Run.status == status)
    else:
        status = ""
    if job_id:
        query = query.where(Run.job_id == job_id)
    page = db.paginate(query, per_page=settings().page_size, error_out=False)

    jobs = db.session.scalars(
        select(Job).where(Job.hidden.is_(False)).order_by(Job.name)
    ).all()
    filters = {
        key: value for key, value in (("status", status), ("job", job_id)) if value
    }
    return render_template(
        "runs/index.html",
        page=page,
        statuses=list(RunStatus),
        jobs=jobs,
        status=status,
        job_id=job_id,
        filters=filters,
    )


def _get_run(run_id: int) -> Run:
    return db.get_or_404(Run, run_id)


@bp.get("/<int:run_id>")
def show(run_id: int):
    run = _get_run(run_id)
    window = settings().log_window
    events = run_service.events_before(run.id, None, window)
    cursor = events[-1].seq if events else 0
    return render_template(
        "runs/show.html",
        run=run,
        events=events,
        cursor=cursor,
        earlier=events[0].seq if events and events[0].seq > 1 else None,
        more=False,
        workers=_workers_if_waiting(run),
    )


@bp.get("/<int:run_id>/log")
def log(run_id: int):
    """New lines after the cursor `after`, the run's summary, and the next poller."""
    run = _get_run(run_id)
    if request.headers.get("HX-Request") != "true":
        return redirect(url_for("runs.show", run_id=run.id))
    after = max(request.args.get("after", 0, type=int), 0)

    # Read the status before the events: once a run is terminal every event of it
    # is stored, so a terminal run with nothing after the cursor is complete.
    terminal = run.state.terminal
    events = run_service.events_after(run.id, after, POLL_LIMIT)
    cursor = events[-1].seq if events else after
    done = terminal and not events
    body = render_template(
        "runs/_log.html",
        run=run,
        events=events,
        cursor=cursor,
        more=len(events) == POLL_LIMIT,
        done=done,
        workers=_workers_if_waiting(run),
    )
    return body, STOP_POLLING if done else 200


def _workers_if_waiting(run: Run) -> int | None:
    """Workers alive, worth telling only while the run waits for one."""
    if run.status != RunStatus.QUEUED:
        return None
    return run_service.workers_alive()


@bp.get("/<int:run_id>/earlier")
def earlier(run_id: int):
    """The window of lines before sequence `before`, for "show earlier lines"."""
    run = _get_run(run_id)
    before = request.args.get("before", type=int)
    if before is None or before < 1:
        abort(400, "before must be a sequence number")
    events = run_service.events_before(run.id, before, settings().log_window)
    return render_template(
        "runs/_earlier.html",
        run=run,
        events=events,
        earlier=events[0].seq if events and events[0].seq > 1 else None,
    )


@bp.get("/<int:run_id>/raw")
def raw(run_id: int):
    """The whole log as plain text, streamed from the database in pages."""
    run = _get_run(run_id)

    def lines():
        after = 0
        while True:
            events = run_service.events_after(run.id, after, POLL_LIMIT)
            if not events:
                return
            for event in events:
                if event.stdout:
                    yield _ANSI.sub("", event.stdout) + "\n"
            after = events[-1].seq
            db.session.expunge_all()

    return Response(
        stream_with_context(lines()),
        mimetype="text/plain",
        headers={
            "Content-Disposition": f'attachment; filename="run-{run.id}.log"',
        },
    )


@bp.post("/<int:run_id>/cancel")
def cancel(run_id: int):
    """Cancel a run once the person confirmed it.

    With JavaScript the button asks first (htmx's hx-confirm) and posts through
    htmx; without, the plain form posts here and this answers with a page that
    asks, whose button posts again with `confirmed=yes`.
    """
    run = _get_run(run_id)
    htmx = request.headers.get("HX-Request") == "true"
    if not htmx and request.form.get("confirmed") != "yes" and not run.state.terminal:
        return render_template("runs/cancel.html", run=run)

    if run_service.cancel(run, by=_who()):
        flash(f"Run {run.id} is being canceled.", "info")
    else:
        flash(f"Run {run.id} had already ended ({run.status}).", "info")
    page = url_for("runs.show", run_id=run.id)
    if htmx:
        return "", 200, {"HX-Redirect": page}
    return redirect(page)


def _who() -> str:
    """Who is asking, for the run's log: their user name, else their address."""
    if current_user.is_authenticated:
        return current_user.username
    return request.remote_addr or "someone"
