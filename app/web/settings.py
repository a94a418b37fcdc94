"""The settings page: how Playdeck is set up, the database's size, and what the
next retention purge would remove. It changes nothing: settings are environment
variables, read when each process starts (see app/config.py).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from app.queue import settings as current_settings
from app.services import retention

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.get("/")
def index():
    config = current_settings()
    return render_template(
        "settings/index.html",
        config=config,
        size=retention.database_size(),
        plan=retention.plan(),
    )
