"""The command guard's rules and switches, kept by admins, and its check of every
launch.

Rules keep positions 1, 2, 3 ... without gaps: a rule saved at position 2 goes
before the one that was there, and every change renumbers the rest. Each change
of a rule or a switch is in the audit trail, and so is every launch the guard
refuses or warns about (see `app.command_guard` for how commands are judged).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from app import audit, command_guard
from app.command_guard import Verdict
from app.extensions import db
from app.models import (
    AuditAction,
    BuiltinCheck,
    GuardAction,
    GuardCheck,
    GuardRule,
    Job,
    Role,
    Run,
    RunTrigger,
    User,
)
from app.services import ServiceError

log = logging.getLogger(__name__)

MAX_PATTERN = 1000
MAX_REASON = 255
NOT_SAVED = "The rule was not saved: see the fields marked."
OBJECT_TYPE = "guard_rule"
ROLES = tuple(role.value for role in Role)


def rules() -> list[GuardRule]:
    """Every rule, in the order they are tried."""
    return command_guard.rules()


def create_rule(
    *,
    pattern: str,
    action: str,
    regex: bool = False,
    role: str | None = None,
    reason: str = "",
    position: int | None = None,
) -> GuardRule:
    """A new rule at `position` (None: last), checked as a whole."""
    values = _checked(pattern, action, regex, role, reason, position)
    rule = GuardRule(**values, position=0)
    db.session.add(rule)
    _place(rule, position)
    db.session.commit()

    log.info("guard rule created id=%s action=%s", rule.id, rule.action)
    audit.record(
        AuditAction.CREATE,
        rule,
        f"guard {rule.name} added",
        changes=_view(rule),
        object_type=OBJECT_TYPE,
    )
    return rule


def update_rule(
    rule: GuardRule,
    *,
    pattern: str,
    action: str,
    regex: bool = False,
    role: str | None = None,
    reason: str = "",
    position: int | None = None,
) -> GuardRule:
    """Change a rule; `position` None keeps its place."""
    values = _checked(pattern, action, regex, role, reason, position)
    before = _view(rule)
    for key, value in values.items():
        setattr(rule, key, value)
    if position is not None:
        _place(rule, position)
    db.session.commit()

    changes = audit.changed(before, _view(rule))
    log.info("guard rule updated id=%s changes=%s", rule.id, sorted(changes))
    audit.record(
        AuditAction.UPDATE,
        rule,
        f"guard {rule.name} changed: {', '.join(changes) or 'nothing'}",
        changes=changes,
        object_type=OBJECT_TYPE,
    )
    return rule


def move_rule(rule: GuardRule, position: int) -> GuardRule:
    """Put a rule at another place in the order (clamped to the first and last)."""
    before = rule.position
    _place(rule, position)
    db.session.commit()
    if rule.position != before:
        audit.record(
            AuditAction.UPDATE,
            rule,
            f"guard {rule.name} moved from position {before}",
            changes={"position": [before, rule.position]},
            object_type=OBJECT_TYPE,
        )
    return rule


def delete_rule(rule: GuardRule) -> None:
    gone = audit.ref(rule)
    name = rule.name
    db.session.delete(rule)
    db.session.flush()
    _renumber(rules())
    db.session.commit()
    log.info("guard rule deleted id=%s", gone.id)
    audit.record(
        AuditAction.DELETE, gone, f"guard {name} deleted", object_type=OBJECT_TYPE
    )


def checks() -> list[tuple[BuiltinCheck, bool]]:
    """Each built-in check and whether it is on."""
    return [(check, command_guard.check_enabled(check)) for check in BuiltinCheck]


def set_check(check: BuiltinCheck, enabled: bool) -> None:
    """Turn a built-in check on or off; the change is in the audit trail."""
    row = db.session.get(GuardCheck, check.value)
    before = row is None or row.enabled
    if row is None:
        row = GuardCheck(name=check.value)
        db.session.add(row)
    row.enabled = enabled
    db.session.commit()
    if before == enabled:
        return
    state = "on" if enabled else "off"
    log.warning("guard check %s turned %s", check.value, state)
    audit.record(
        AuditAction.UPDATE,
        row,
        f"guard check “{check.title}” turned {state}",
        changes={"enabled": [before, enabled]},
        object_type="guard_check",
    )


def screen_launch(
    job: Job,
    extra_vars: dict[str, Any] | None,
    *,
    by: User | None,
    trigger: str = RunTrigger.MANUAL,
) -> Verdict:
    """The guard's word on a launch: `ServiceError` naming the rule when it
    refuses (recorded in the audit trail), else the verdict, whose warnings the
    run keeps (`record_warnings` once the run exists)."""
    role = command_guard.role_of(by or audit.acting_user(), trigger)
    verdict = command_guard.screen(job, role, extra_vars)
    refusal = verdict.refusal
    if refusal is not None:
        log.warning("launch of job %s refused by the guard: %s", job.id, refusal)
        command_guard.record_refusal(
            job, f"launch of {command_guard.what(job)}", verdict
        )
        raise ServiceError(refusal, verdict.fields)
    return verdict


def record_warnings(run: Run, verdict: Verdict) -> None:
    """The audit entries of a launched run the guard warned about."""
    if verdict.warned:
        log.info("run %s warned by the guard: %s", run.id, len(verdict.warned))
        command_guard.record_warnings(run, verdict.warned)


def _checked(
    pattern: str,
    action: str,
    regex: bool,
    role: str | None,
    reason: str,
    position: int | None,
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    pattern = (pattern or "").strip()
    reason = (reason or "").strip()
    role = role or None

    if not pattern:
        errors["pattern"] = "Give the words or the regular expression to look for."
    elif len(pattern) > MAX_PATTERN:
        errors["pattern"] = f"A pattern has at most {MAX_PATTERN} characters."
    else:
        try:
            command_guard.compile_pattern(pattern, bool(regex))
        except re.error as exc:
            errors["pattern"] = f"Not a valid regular expression: {exc}."
        except ValueError as exc:
            errors["pattern"] = f"Not a pattern: {exc}."
    if action not in tuple(GuardAction):
        errors["action"] = "Choose deny, warn or allow."
    if role is not None and role not in ROLES:
        errors["role"] = "Choose a role, or everyone."
    if len(reason) > MAX_REASON:
        errors["reason"] = f"A reason has at most {MAX_REASON} characters."
    if position is not None and (type(position) is not int or position < 1):
        errors["position"] = "A position is a whole number from 1 (tried first)."

    if errors:
        raise ServiceError(NOT_SAVED, errors)
    return {
        "pattern": pattern,
        "regex": bool(regex),
        "action": action,
        "role": role,
        "reason": reason,
    }


def _place(rule: GuardRule, position: int | None) -> None:
    """Put `rule` at `position` (last when None) and renumber every rule."""
    others = [row for row in rules() if row is not rule]
    index = len(others) if position is None else min(max(position, 1) - 1, len(others))
    _renumber([*others[:index], rule, *others[index:]])


def _renumber(ordered: list[GuardRule]) -> None:
    for number, row in enumerate(ordered, 1):
        row.position = number


def _view(rule: GuardRule) -> dict[str, Any]:
    return {
        "position": rule.position,
        "pattern": rule.pattern,
        "regex": rule.regex,
        "action": rule.action,
        "role": rule.role,
        "reason": rule.reason,
    }
