"""Placeholder until the quick pages are written."""

from flask import Blueprint

bp = Blueprint("quick", __name__, url_prefix="/quick")


@bp.get("/")
def index():
    return "quick"


@bp.get("/new")
def new():
    return "quick"
