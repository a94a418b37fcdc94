"""Placeholder until the hosts pages are written."""

from flask import Blueprint

bp = Blueprint("hosts", __name__, url_prefix="/hosts")


@bp.get("/")
def index():
    return "hosts"
