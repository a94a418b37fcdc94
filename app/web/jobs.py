"""Placeholder until the jobs pages are written."""

from flask import Blueprint

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.get("/")
def index():
    return "jobs"


@bp.get("/<int:job_id>")
def show(job_id: int):
    return str(job_id)
