"""Who may do what: the least role each endpoint needs, in one table.

Every endpoint of the app is listed here, pages and API alike; the two
`before_request` guards (`app.auth.guard` for pages, `app.api` for the API) read
it, so views carry no decorator. An endpoint missing from the table is refused
to everyone, and a test walks the URL map so that a new route without a line
here fails before it ships.

Roles rank viewer < operator < admin; each may do all that the roles below it
may. Viewers read everything but secrets, which no page or API answer ever shows:
they see the list of credentials (name, kind, user name), since job pages name
the credential a job uses anyway.
"""

from __future__ import annotations

import enum
from typing import Final

from app.models.user import Role


class Public(enum.Enum):
    """Anyone, logged in or not."""

    ANYONE = "anyone"


PUBLIC: Final = Public.ANYONE
VIEWER, OPERATOR, ADMIN = Role.VIEWER, Role.OPERATOR, Role.ADMIN

Needed = Role | Public

PERMISSIONS: dict[str, Needed] = {
    # Open: logging in, the files pages load, and the health checks that load
    # balancers and supervisors ask without an account.
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "api.openapi": PUBLIC,
    "health.healthz": PUBLIC,
    "health.readyz": PUBLIC,
    # One's own account.
    "index": VIEWER,
    "dashboard.active": VIEWER,
    "auth.logout": VIEWER,
    "account.preferences": VIEWER,
    "account.password": VIEWER,
    "account.tokens": VIEWER,
    "account.revoke_token": VIEWER,
    # Runs and their logs.
    "runs.index": VIEWER,
    "runs.show": VIEWER,
    "runs.log": VIEWER,
    "runs.earlier": VIEWER,
    "runs.later": VIEWER,
    "runs.grid": VIEWER,
    "runs.result": VIEWER,
    "runs.search": VIEWER,
    "runs.raw": VIEWER,
    "runs.changes": VIEWER,
    "runs.cancel": OPERATOR,
    "runs.relaunch": OPERATOR,
    # Jobs, quick commands and playbooks.
    "jobs.index": VIEWER,
    "jobs.show": VIEWER,
    "jobs.new": OPERATOR,
    "jobs.edit": OPERATOR,
    "jobs.delete": OPERATOR,
    "jobs.launch": OPERATOR,
    # Schedules: the upcoming list, the job form's preview, the on/off buttons.
    "schedules.index": VIEWER,
    "schedules.preview": OPERATOR,
    "schedules.enable": OPERATOR,
    "schedules.disable": OPERATOR,
    # The job and quick command forms' host and group pickers, and the checks
    # of variables and playbook files while one types (they change nothing).
    "pickers.hosts": OPERATOR,
    "pickers.groups": OPERATOR,
    "validate.variables": OPERATOR,
    "validate.playbook_file": OPERATOR,
    "quick.index": OPERATOR,
    "quick.new": OPERATOR,
    "playbooks.index": VIEWER,
    "playbooks.show": VIEWER,
    "playbooks.new": OPERATOR,
    "playbooks.edit": OPERATOR,
    "playbooks.delete": OPERATOR,
    # The inventory and its secrets.
    "hosts.index": VIEWER,
    "hosts.show": VIEWER,
    "hosts.new": ADMIN,
    "hosts.edit": ADMIN,
    "hosts.delete": ADMIN,
    "groups.index": VIEWER,
    "groups.show": VIEWER,
    "groups.new": ADMIN,
    "groups.edit": ADMIN,
    "groups.delete": ADMIN,
    "credentials.index": VIEWER,
    "credentials.show": VIEWER,
    "credentials.new": ADMIN,
    "credentials.edit": ADMIN,
    "credentials.delete": ADMIN,
    # How Playdeck is set up, the people, and the trail of what they did.
    "settings.index": ADMIN,
    "users.index": ADMIN,
    "users.new": ADMIN,
    "users.edit": ADMIN,
    "users.reset_password": ADMIN,
    "audit.index": ADMIN,
    # The command guard: what runs may execute.
    "guard.index": ADMIN,
    "guard.new": ADMIN,
    "guard.edit": ADMIN,
    "guard.move": ADMIN,
    "guard.delete": ADMIN,
    "guard.switch": ADMIN,
    # The API (/api/v1), by the same rules.
    "api.hosts_list": VIEWER,
    "api.host_get": VIEWER,
    "api.host_create": ADMIN,
    "api.host_update": ADMIN,
    "api.host_delete": ADMIN,
    "api.groups_list": VIEWER,
    "api.group_get": VIEWER,
    "api.group_create": ADMIN,
    "api.group_update": ADMIN,
    "api.group_delete": ADMIN,
    "api.credentials_list": VIEWER,
    "api.credential_get": VIEWER,
    "api.credential_create": ADMIN,
    "api.credential_update": ADMIN,
    "api.credential_delete": ADMIN,
    "api.playbooks_list": VIEWER,
    "api.playbook_get": VIEWER,
    "api.playbook_create": OPERATOR,
    "api.playbook_update": OPERATOR,
    "api.playbook_delete": OPERATOR,
    "api.jobs_list": VIEWER,
    "api.job_get": VIEWER,
    "api.job_create": OPERATOR,
    "api.job_update": OPERATOR,
    "api.job_delete": OPERATOR,
    "api.job_launch": OPERATOR,
    "api.schedules_list": VIEWER,
    "api.runs_list": VIEWER,
    "api.run_get": VIEWER,
    "api.run_events": VIEWER,
    "api.run_cancel": OPERATOR,
    "api.run_relaunch": OPERATOR,
    "api.audit_list": ADMIN,
    "api.guard_rules_list": ADMIN,
    "api.guard_rule_get": ADMIN,
    "api.guard_rule_create": ADMIN,
    "api.guard_rule_update": ADMIN,
    "api.guard_rule_delete": ADMIN,
    "api.guard_checks_get": ADMIN,
    "api.guard_checks_update": ADMIN,
}


def needed(endpoint: str | None) -> Needed | None:
    """The least role `endpoint` needs; None when the table does not name it."""
    if endpoint is None:
        return None
    return PERMISSIONS.get(endpoint)


def allowed(role: Role | None, endpoint: str) -> bool:
    """Whether someone of `role` (None: not logged in) may use `endpoint`."""
    want = needed(endpoint)
    if want is None:
        return False
    if want is PUBLIC:
        return True
    return role is not None and role.allows(want)
