"""The HTML pages. Views parse input, call a service and render; no rule lives here."""

from __future__ import annotations

from flask import Flask

from app.models.timeutil import utcnow
from app.web.filters import register_filters
from app.web.htmx import is_htmx


def register_web(app: Flask) -> None:
    from app.web import (
        account,
        audit,
        auth,
        credentials,
        groups,
        hosts,
        jobs,
        playbooks,
        quick,
        runs,
        users,
    )

    for module in (hosts, groups, credentials, playbooks, jobs, quick, runs):
        app.register_blueprint(module.bp)
    for module in (auth, account, users, audit):
        app.register_blueprint(module.bp)
    register_filters(app)
    # Health checks with the Redis banner and 503s, and the settings page.
    from app.web import health, settings

    app.register_blueprint(health.bp)
    app.register_blueprint(settings.bp)

    # Schedules: the upcoming page, the job form's preview, enable and disable.
    from app.web import schedules

    app.register_blueprint(schedules.bp)

    # The command guard's rules and checks.
    from app.web import guard

    app.register_blueprint(guard.bp)

    # The dashboard is the front page; its live part is a fragment of its own.
    # The job and quick command forms' pickers, and the checks while one types.
    from app.web import dashboard, pickers, validate

    app.add_url_rule("/", "index", dashboard.index)
    for module in (dashboard, pickers, validate):
        app.register_blueprint(module.bp)

    @app.context_processor
    def htmx_state():
        return {"is_htmx": is_htmx()}

    # Pages stamp the server's time, so that static/app.js reckons running
    # times on the server's clock rather than the browser's.
    app.add_template_global(utcnow)
