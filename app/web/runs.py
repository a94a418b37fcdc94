"""Run pages: the list, one run with its live log, grid and search, cancel,
the raw log, the changes a run with diff mode made, and relaunch.

The run page shows a window of the log, never all of it: the last lines (or
those around one line, `?at=`), one host's only with `?host=`. Earlier and later
lines come a window at a time; the poller brings the new ones, with the run's
summary, progress and grid, while the run goes on.
"""

from __future__ import annotations

import json
from typing import Any

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
from markupsafe import Markup, escape
from sqlalchemy import Row, select

from app.ansi import plain
from app.extensions import db
from app.models import Event, Job, Run, RunStatus
from app.models.event import TASK_STARTS
from app.queue import settings
from app.services import ServiceError
from app.services import options as option_service
from app.services import progress as progress_service
from app.services import runs as run_service
from app.web.forms import INVALID, show_service_error
from app.web.health import ensure_queued
from app.web.htmx import STOP_POLLING, is_htmx
from app.web.inputs import launch_form, launch_values, value_aliases

bp = Blueprint("runs", __name__, url_prefix="/runs")

# Events one poll returns at most; a page behind by more asks again at once.
POLL_LIMIT = 1000
# Lines shown before the one a `?at=` link points to.
CONTEXT_BEFORE = 20
# Characters of a line a search result shows around the match.
SNIPPET = 160
# Changes (file diffs) a run page shows at most; the log has them all.
DIFF_LIMIT = 500


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


def _host_filter() -> str | None:
    """The `host` whose lines alone are asked for; None for every line."""
    return request.args.get("host", "").strip() or None


@bp.get("/<int:run_id>")
def show(run_id: int):
    run = _get_run(run_id)
    host = _host_filter()
    window = settings().log_window
    at = request.args.get("at", type=int)

    if at is not None and at > 0:
        start = max(at - 1 - CONTEXT_BEFORE, 0)
        events = run_service.events_after(run.id, start, window, host)
        # A window that does not reach the end shows "later lines" instead of
        # polling: the poller would bring every line after it.
        later = bool(events) and run_service.has_events_after(
            run.id, events[-1].seq, host
        )
    else:
        at = None
        events = run_service.events_before(run.id, None, window, host)
        later = False
    cursor = events[-1].seq if events else 0

    return render_template(
        "runs/show.html",
        run=run,
        events=events,
        cursor=cursor,
        earlier=events[0].seq if events and events[0].seq > 1 else None,
        later=later,
        complete=run_service.log_complete(run),
        at=at,
        host=host,
        hosts=sorted(run.stats or {}),
        more=False,
        workers=_workers_if_waiting(run),
        progress=progress_service.progress(run),
        grid=progress_service.task_grid(
            run, request.args.get("tasks_before", type=int)
        ),
    )


@bp.get("/<int:run_id>/log")
def log(run_id: int):
    """New lines after the cursor `after`, the run's summary and grid, and the
    next poller.
    """
    run = _get_run(run_id)
    if not is_htmx():
        return redirect(url_for("runs.show", run_id=run.id))
    after = max(request.args.get("after", 0, type=int), 0)
    host = _host_filter()

    # Read the status before the events: once the log is complete, nothing after
    # the cursor means the page has it all.
    complete = run_service.log_complete(run)
    events = run_service.events_after(run.id, after, POLL_LIMIT, host)
    cursor = events[-1].seq if events else after
    done = complete and not events
    # The grid changes only with a task's start or a host's result (any host's:
    # a page filtered by host still shows every host's grid).
    grid = None
    if done or _grid_moved(host, events):
        grid = progress_service.task_grid(run)
    body = render_template(
        "runs/_log.html",
        run=run,
        events=events,
        cursor=cursor,
        host=host,
        more=len(events) == POLL_LIMIT,
        done=done,
        workers=_workers_if_waiting(run),
        progress=progress_service.progress(run),
        grid=grid,
    )
    return body, STOP_POLLING if done else 200


def _grid_moved(host: str | None, events: list[Row]) -> bool:
    if host is not None:
        # Filtered by host, the poll read no other host's events: redraw.
        return True
    return any(e.result is not None or e.type in TASK_STARTS for e in events)


def _workers_if_waiting(run: Run) -> int | None:
    """Workers alive, worth telling only while the run waits for one."""
    if run.status != RunStatus.QUEUED:
        return None
    return run_service.workers_alive()


@bp.get("/<int:run_id>/earlier")
def earlier(run_id: int):
    """The window of lines before sequence `before`, for "show earlier lines"."""
    run = _get_run(run_id)
    host = _host_filter()
    before = request.args.get("before", type=int)
    if before is None or before < 1:
        abort(400, "before must be a sequence number")
    events = run_service.events_before(run.id, before, settings().log_window, host)
    return render_template(
        "runs/_earlier.html",
        run=run,
        events=events,
        host=host,
        earlier=events[0].seq if events and events[0].seq > 1 else None,
    )


@bp.get("/<int:run_id>/later")
def later(run_id: int):
    """The window of lines after sequence `after`, for "show later lines" on a
    page opened at some line; the last window starts the live poller.
    """
    run = _get_run(run_id)
    host = _host_filter()
    after = request.args.get("after", type=int)
    if after is None or after < 0:
        abort(400, "after must be a sequence number")
    if not is_htmx():
        return redirect(url_for("runs.show", run_id=run.id, at=after + 1, host=host))
    events = run_service.events_after(run.id, after, settings().log_window, host)
    cursor = events[-1].seq if events else after
    return render_template(
        "runs/_later.html",
        run=run,
        events=events,
        host=host,
        cursor=cursor,
        later=run_service.has_events_after(run.id, cursor, host),
        done=run_service.log_complete(run),
        more=False,
    )


@bp.get("/<int:run_id>/grid")
def grid(run_id: int):
    """The grid with the tasks before `before`, or the newest ones."""
    run = _get_run(run_id)
    before = request.args.get("before", type=int)
    if not is_htmx():
        return redirect(
            url_for("runs.show", run_id=run.id, tasks_before=before) + "#run-grid"
        )
    return render_template(
        "runs/_grid.html", run=run, grid=progress_service.task_grid(run, before)
    )


@bp.get("/<int:run_id>/result")
def result(run_id: int):
    """What one task returned on one host: a grid cell's detail."""
    run = _get_run(run_id)
    host = request.args.get("host", "")
    task_seq = request.args.get("task", type=int)
    if not host or task_seq is None:
        abort(400, "host and task are needed")
    found = progress_service.task_result(run, host, task_seq)
    if found is None:
        abort(404)
    template = "runs/_result.html" if is_htmx() else "runs/result.html"
    return render_template(template, run=run, event=found)


@bp.get("/<int:run_id>/search")
def search(run_id: int):
    """Lines of the run holding `q`, a slice of the log at a time (`after`)."""
    run = _get_run(run_id)
    host = _host_filter()
    text = request.args.get("q", "").strip()
    after = max(request.args.get("after", 0, type=int), 0)
    found = max(request.args.get("found", 0, type=int), 0)
    page = run_service.search_events(run.id, text, after, host) if text else None
    context = {
        "run": run,
        "q": text,
        "host": host,
        "page": page,
        "found": found + (len(page.matches) if page else 0),
        "first": after == 0,
        "limit": run_service.SEARCH_MATCHES,
    }
    if is_htmx():
        return render_template("runs/_search.html", **context)
    return render_template("runs/search.html", **context)


@bp.app_template_filter("snippet")
def snippet(stdout: str, text: str) -> Markup:
    """The line of `stdout` that holds `text`, escaped, the match marked."""
    shown = plain(stdout or "")
    lowered = text.lower()
    line = next(
        (line for line in shown.splitlines() if lowered in line.lower()),
        shown.strip().splitlines()[0] if shown.strip() else "",
    )
    start = line.lower().find(lowered)
    if start < 0:
        return Markup(escape(line[:SNIPPET]))
    begin = max(start - SNIPPET // 2, 0)
    end = start + len(text)
    return Markup("{}{}<mark>{}</mark>{}{}").format(
        "…" if begin else "",
        line[begin:start],
        line[start:end],
        line[end : end + SNIPPET // 2],
        "…" if end + SNIPPET // 2 < len(line) else "",
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
                    yield plain(event.stdout) + "\n"
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
    htmx = is_htmx()
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


@bp.post("/<int:run_id>/relaunch")
def relaunch(run_id: int):
    """Launch the run's job again with its inputs, on all or its failed hosts.

    When the relaunch needs values the run cannot give (its secrets, which are
    not kept), this answers with a form asking for them, which posts here again
    with `answered=yes`.
    """
    run = _get_run(run_id)
    hosts = request.form.get("hosts", "all")
    asks = run_service.relaunch_asks(run)
    form = launch_form(asks, ())()
    page = {"form": form, "job": run.job, "run": run, "hosts": hosts}
    if asks and request.form.get("answered") != "yes":
        return render_template("jobs/launch.html", **page)

    parsed = form.validate()
    values = launch_values(form, asks)
    if not parsed or form.errors:
        return render_template("jobs/launch.html", **page), INVALID
    try:
        again = run_service.relaunch(
            run, hosts, by=current_user._get_current_object(), parameters=values
        )
    except ServiceError as exc:
        if not asks or not exc.fields:
            flash(exc.message, "error")
            return redirect(url_for("runs.show", run_id=run.id))
        show_service_error(form, exc, value_aliases(asks))
        return render_template("jobs/launch.html", **page), INVALID
    ensure_queued(again)
    flash(f"Run {again.id} queued: a relaunch of run {run.id}.", "info")
    return redirect(url_for("runs.show", run_id=again.id))


@bp.get("/<int:run_id>/changes")
def changes(run_id: int):
    """The changes a run with diff mode made (or, in check mode, would make),
    host by host; polled while the run goes on, 286 once it has ended."""
    run = _get_run(run_id)
    terminal = run.state.terminal
    body = render_template("runs/_diffs.html", run=run)
    return body, STOP_POLLING if terminal else 200


@bp.app_template_global()
def relaunch_choices(run: Run) -> list[tuple[str, str, list[str]]]:
    """The relaunch buttons a run's page shows: (hosts, label, host names)."""
    found = [("all", "Relaunch", [])]
    if not run.state.terminal:
        return found
    failed = run_service.hosts_that_failed(run.id)
    either = run_service.hosts_that_failed(run.id, unreachable=True)
    if failed:
        found.append(("failed", "Relaunch on failed hosts", failed))
    if either != failed:
        label = "Relaunch on failed and unreachable hosts"
        found.append(("unreachable", label, either))
    return found


@bp.app_template_global()
def run_inputs(run: Run) -> list[tuple[str, str, str]]:
    """What the run was launched with, for its page: (key, label, value) of each
    parameter (secrets masked, labels as the job says now) and of each run
    option that differs from ansible's default."""
    labels = {p["name"]: p["label"] for p in run.job.parameters or []}
    shown = [
        (f"parameter-{name}", labels.get(name, name), _text(value))
        for name, value in (run.parameters or {}).items()
    ]
    options = option_service.described(run.options or {})
    shown += [(f"option-{label}", label, value) for label, value in options]
    return shown


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


@bp.app_template_global()
def file_diffs(run: Run) -> list[Event]:
    return run_service.file_diffs(run.id, DIFF_LIMIT)
