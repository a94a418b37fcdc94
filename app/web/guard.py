"""The Guard page, for admins: the command guard's rules in the order they are
tried (added, edited, deleted, moved up and down), and its built-in checks with
their on/off switches. `app.services.guard` decides what a valid rule is.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import IntegerField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import Optional

from app.extensions import db
from app.models import BuiltinCheck, GuardAction, GuardRule, Role
from app.services import guard as guard_service
from app.web.forms import render_form, save_form

bp = Blueprint("guard", __name__, url_prefix="/guard")

ACTION_CHOICES = [
    SelectChoice(GuardAction.DENY, "deny: refuse the launch"),
    SelectChoice(GuardAction.WARN, "warn: run it, and mark the run"),
    SelectChoice(GuardAction.ALLOW, "allow: let it pass, try no further rule"),
]
ROLE_CHOICES = [
    SelectChoice("", "everyone"),
    *(SelectChoice(role.value, f"{role.value}s only") for role in Role),
]


class RuleForm(FlaskForm):
    pattern = StringField(
        "Pattern",
        render_kw={"autocomplete": "off", "spellcheck": "false", "maxlength": 1000},
    )
    kind = RadioField(
        "The pattern is",
        choices=[
            SelectChoice("words", "plain words"),
            SelectChoice("regex", "a regular expression"),
        ],
        default="words",
        validate_choice=False,
    )
    action = SelectField(
        "Action",
        choices=ACTION_CHOICES,
        default=GuardAction.DENY,
        validate_choice=False,
    )
    role = SelectField(
        "Applies to", choices=ROLE_CHOICES, default="", validate_choice=False
    )
    position = IntegerField(
        "Position", validators=[Optional()], render_kw={"min": 1, "placeholder": "last"}
    )
    reason = StringField(
        "Reason",
        render_kw={
            "autocomplete": "off",
            "maxlength": 255,
            "placeholder": "Ask the ops team before deleting files.",
        },
    )


def _values(form: RuleForm) -> dict[str, Any]:
    return {
        "pattern": form.pattern.data or "",
        "regex": form.kind.data == "regex",
        "action": form.action.data or "",
        "role": form.role.data or None,
        "reason": form.reason.data or "",
        "position": form.position.data,
    }


@bp.get("/")
def index():
    return render_template(
        "guard/index.html",
        rules=guard_service.rules(),
        checks=guard_service.checks(),
    )


@bp.route("/rules/new", methods=["GET", "POST"])
def new():
    form = RuleForm()
    rule = save_form(form, "rule", lambda: guard_service.create_rule(**_values(form)))
    if rule is None:
        return render_form("guard/form.html", form, rule=None)
    flash(f"Guard {rule.name} added.", "info")
    return redirect(url_for("guard.index"))


@bp.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
def edit(rule_id: int):
    rule = db.get_or_404(GuardRule, rule_id)
    form = RuleForm(
        data={
            "pattern": rule.pattern,
            "kind": "regex" if rule.regex else "words",
            "action": rule.action,
            "role": rule.role or "",
            "position": rule.position,
            "reason": rule.reason,
        }
    )
    saved = save_form(
        form, "rule", lambda: guard_service.update_rule(rule, **_values(form))
    )
    if saved is None:
        return render_form("guard/form.html", form, rule=rule)
    flash(f"Guard {rule.name} saved.", "info")
    return redirect(url_for("guard.index"))


@bp.post("/rules/<int:rule_id>/move")
def move(rule_id: int) -> Response:
    """The ↑ and ↓ buttons: one place earlier or later in the order."""
    rule = db.get_or_404(GuardRule, rule_id)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if step is None:
        flash("Move a rule up or down.", "error")
    else:
        guard_service.move_rule(rule, rule.position + step)
    return redirect(url_for("guard.index"))


@bp.post("/rules/<int:rule_id>/delete")
def delete(rule_id: int) -> Response:
    rule = db.get_or_404(GuardRule, rule_id)
    name = rule.name
    guard_service.delete_rule(rule)
    flash(f"Guard {name} deleted.", "info")
    return redirect(url_for("guard.index"))


@bp.post("/checks/<check>")
def switch(check: str) -> Response:
    """A built-in check's on/off button."""
    try:
        which = BuiltinCheck(check)
    except ValueError:
        abort(404)
    enabled = request.form.get("enabled") == "on"
    guard_service.set_check(which, enabled)
    flash(f"The check “{which.title}” is {'on' if enabled else 'off'}.", "info")
    return redirect(url_for("guard.index"))
