"""The dashboard, Playdeck's front page: runs of the last day and week, each
job's trend, and what runs now.

What runs now is a fragment that replaces itself every few seconds while runs are
queued or running, and stops polling (286) once none is left: its "Check again"
button starts it again.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, redirect, render_template, url_for

from app.models import utcnow
from app.services import dashboard as dashboard_service
from app.services.progress import progress
from app.web import charts
from app.web.filters import utc_offset_minutes
from app.web.htmx import STOP_POLLING, is_htmx

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


def index():
    """The page; registered at `/` as the endpoint `index`."""
    now = utcnow()
    spans = {
        "Last 24 hours": dashboard_service.status_counts(now - timedelta(days=1)),
        "Last 7 days": dashboard_service.status_counts(now - timedelta(days=7)),
    }
    return render_template(
        "dashboard/index.html",
        spans=spans,
        trends=dashboard_service.job_trends(now, utc_offset_minutes(now)),
        trend_days=dashboard_service.TREND_DAYS,
        charts=charts,
        **_now(),
    )


@bp.get("/active")
def active():
    """What runs now, for the dashboard's poller."""
    if not is_htmx():
        return redirect(url_for("index"))
    context = _now()
    body = render_template("dashboard/_active.html", **context)
    return body, 200 if context["runs"] else STOP_POLLING


def _now() -> dict:
    runs, count = dashboard_service.active_runs()
    return {
        "runs": runs,
        "active_count": count,
        "progress": {run.id: progress(run) for run in runs},
        "queue": dashboard_service.queue_state(),
    }
