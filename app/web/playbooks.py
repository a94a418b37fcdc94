"""Placeholder until the playbooks pages are written."""

from flask import Blueprint

bp = Blueprint("playbooks", __name__, url_prefix="/playbooks")


@bp.get("/")
def index():
    return "playbooks"
