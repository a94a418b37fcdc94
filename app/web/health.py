"""Health checks, and how pages answer while Redis is away.

- `/healthz`: the web process answers. 200 always; it touches nothing else.
- `/readyz`: 200 when the database and Redis answer and at least one worker is
  alive, else 503; the JSON body names each check and whether it passed.

Both are for whoever runs Playdeck behind a load balancer or a supervisor, and
need no login.

Pages whose buttons need Redis (a run's Cancel, a job's Run, the quick command)
and the dashboard show a banner while it does not answer, and actions that need
it answer 503 with a message instead of failing with a 500.
"""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    jsonify,
    render_template,
    request,
    url_for,
)
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models import Run, RunStatus
from app.queue import redis_answers
from app.services import Unavailable
from app.services import runs as run_service

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

# Pages with a button that needs Redis, and the dashboard (which counts the
# queue and the workers in it): they tell when it does not answer.
REDIS_PAGES = frozenset(
    {"index", "runs.show", "jobs.show", "jobs.launch", "runs.relaunch", "quick.new"}
)

REDIS_DOWN = (
    "Redis does not answer: runs can be neither launched nor canceled until it "
    "is back. Nothing is lost: runs, logs and jobs are in the database."
)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks = {"database": _database(), "redis": _redis()}
    checks["workers"] = _workers() if checks["redis"]["ok"] else _unknown_workers()
    ready = all(check["ok"] for check in checks.values())
    failed = [name for name, check in checks.items() if not check["ok"]]
    if failed:
        log.warning("not ready: %s", ", ".join(failed))
    body = {"status": "ready" if ready else "not ready", "failed": failed}
    return jsonify(body | {"checks": checks}), 200 if ready else 503


def _database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        # The error names the database's host and user: it goes to the log, not
        # to whoever asks this page, which needs no login.
        log.warning("readiness: the database does not answer: %s", exc)
        return {"ok": False, "detail": "the database does not answer (see the log)"}
    return {"ok": True, "detail": "answers"}


def _redis() -> dict:
    if redis_answers():
        return {"ok": True, "detail": "answers"}
    return {"ok": False, "detail": "Redis does not answer"}


def _workers() -> dict:
    alive = run_service.workers_alive()
    if not alive:
        return {"ok": False, "detail": "no worker is alive to execute runs"}
    return {"ok": True, "detail": f"{alive} alive"}


def _unknown_workers() -> dict:
    return {"ok": False, "detail": "unknown: workers are counted in Redis"}


def ensure_queued(run: Run) -> None:
    """After a launch: raise Unavailable when Redis refused the run.

    The run is kept, ended `error` with the reason, so that nothing is lost.
    """
    if run.status == RunStatus.ERROR:
        raise Unavailable(
            f"Run {run.id} could not be queued because Redis does not answer; it "
            "ended with status error. Launch it again once Redis is back."
        )


@bp.app_context_processor
def redis_state() -> dict:
    if request.endpoint not in REDIS_PAGES:
        return {}
    if "redis_down" not in g:
        g.redis_down = not redis_answers()
    return {"redis_down": g.redis_down, "redis_down_message": REDIS_DOWN}


@bp.app_errorhandler(Unavailable)
def unavailable(error: Unavailable):
    return _unavailable(error.message)


@bp.app_errorhandler(RedisError)
def redis_error(error: RedisError):
    # Whatever action met Redis away: a clear 503 rather than a 500.
    log.warning("%s %s: Redis does not answer: %s", request.method, request.path, error)
    return _unavailable(REDIS_DOWN)


def _unavailable(message: str):
    if request.headers.get("HX-Request") == "true":
        # htmx swaps nothing on a 503: the page it came from shows the message.
        flash(message, "error")
        return "", 503, {"HX-Redirect": _back()}
    return render_template("errors/503.html", message=message, back=_back()), 503


def _back() -> str:
    """The page the request came from, when it is one of ours."""
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url):
        return referrer
    return url_for("index")
