"""Placeholder until the credentials pages are written."""

from flask import Blueprint

bp = Blueprint("credentials", __name__, url_prefix="/credentials")


@bp.get("/")
def index():
    return "credentials"
