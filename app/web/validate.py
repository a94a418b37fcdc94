"""Checks the forms ask for while one types: variables and playbook files.

htmx posts the field's text (with the rest of its form, and the CSRF token) a
moment after each change; the answer is a line under the field saying it is
fine or what is wrong, and where. Nothing is saved: saving checks again.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from app.services import playbooks as playbook_service
from app.validation import Invalid, error_line, parse_vars

bp = Blueprint("validate", __name__, url_prefix="/validate")


@bp.post("/vars")
def variables():
    """`?field=` names the form's input that holds YAML or JSON variables."""
    field = request.args.get("field", "")
    try:
        parsed = parse_vars(request.form.get(field, ""))
    except Invalid as exc:
        return _answer(field, str(exc))
    count = len(parsed)
    fine = f"{count} variable{'s' if count != 1 else ''}" if count else "No variable"
    return _answer(field, None, fine + ".")


@bp.post("/playbook-file")
def playbook_file():
    """`?field=` names the text's input, `?name=` the file name's; the entry
    file is the form's `entry`.
    """
    field = request.args.get("field", "")
    name = request.form.get(request.args.get("name", ""), "")
    problem = playbook_service.file_problem(
        name, request.form.get(field, ""), request.form.get("entry", "")
    )
    return _answer(field, problem, "Valid YAML." if problem is None else "")


def _answer(field: str, problem: str | None, fine: str = ""):
    return render_template(
        "_check.html",
        field=field,
        problem=problem,
        line=error_line(problem) if problem else None,
        fine=fine,
    )
