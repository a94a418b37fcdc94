"""Groups: named sets of hosts with their own variables.

A group's name becomes an Ansible inventory group, so it follows Ansible's rules
for group names: a variable-like name, and not one Ansible makes itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.models import AuditAction, Group, Host, Job
from app.services import ServiceError
from app.validation import NAME, RESERVED_GROUPS

log = logging.getLogger(__name__)

DUPLICATE_NAME = "A group with this name already exists."


def groups_query(search: str = "") -> Select[tuple[Group]]:
    """Groups by name with their hosts, as a query that pages can paginate;
    those whose name contains `search` when given.
    """
    query = select(Group).options(selectinload(Group.hosts)).order_by(Group.name)
    search = search.strip()
    if search:
        query = query.where(Group.name.icontains(search, autoescape=True))
    return query


def all_groups() -> list[Group]:
    """Every group by name, for the choices of a form."""
    return list(db.session.scalars(groups_query()))


def group_name_error(name: str) -> str | None:
    """Why a group name cannot be used, or None; forms call it to answer early."""
    if not name:
        return "Give the group a name."
    if len(name) > 255:
        return "Use at most 255 characters."
    if name in RESERVED_GROUPS:
        return f"Ansible makes the group '{name}' itself; pick another name."
    if not NAME.match(name):
        return (
            "Ansible group names use letters, digits and '_' only (no '-' or '.'), "
            "and do not start with a digit."
        )
    return None


def create_group(
    *,
    name: str,
    vars: Mapping[str, Any] | None = None,
    host_ids: Iterable[int] = (),
) -> Group:
    """Add a group; `ServiceError` says which field is refused and why."""
    values = _checked(None, name, vars)
    hosts = _hosts(host_ids)

    group = Group(**values)
    group.hosts = hosts
    db.session.add(group)
    _commit()
    log.info("group %s created id=%s hosts=%s", group.name, group.id, len(hosts))
    audit.record(
        AuditAction.CREATE, group, f"group {group.name} added", changes=_view(group)
    )
    return group


def update_group(
    group: Group,
    *,
    name: str,
    vars: Mapping[str, Any] | None,
    host_ids: Iterable[int],
) -> Group:
    """Change a group; the hosts given replace its members."""
    # Check before touching the row, so that no half-changed group is flushed.
    values = _checked(group, name, vars)
    hosts = _hosts(host_ids)
    before = _view(group)

    for key, value in values.items():
        setattr(group, key, value)
    group.hosts = hosts
    _commit()
    log.info("group %s updated id=%s hosts=%s", group.name, group.id, len(hosts))
    changes = audit.changed(before, _view(group))
    audit.record(
        AuditAction.UPDATE,
        group,
        f"group {group.name} changed: {', '.join(changes) or 'nothing'}",
        changes=changes,
    )
    return group


def delete_group(group: Group) -> int:
    """Remove a group (its hosts stay); returns how many jobs targeted it.

    The database drops the group from those jobs (ON DELETE CASCADE on the
    association); their runs keep the group's name in their summary.
    """
    jobs = len(jobs_targeting(group))
    name, group_id = group.name, group.id
    gone = audit.ref(group)

    db.session.delete(group)
    db.session.commit()
    log.info("group %s deleted id=%s jobs=%s", name, group_id, jobs)
    audit.record(AuditAction.DELETE, gone, f"group {name} deleted")
    return jobs


def jobs_targeting(group: Group) -> list[Job]:
    """The jobs, by name, that name this group as a target (quick commands aside)."""
    return list(
        db.session.scalars(
            select(Job)
            .where(Job.groups.any(Group.id == group.id), Job.hidden.is_(False))
            .order_by(Job.name)
        )
    )


def _view(group: Group) -> dict[str, Any]:
    """A group as the audit trail keeps it."""
    return {
        "name": group.name,
        "vars": dict(group.vars or {}),
        "hosts": [host.name for host in group.hosts],
    }


def _checked(
    group: Group | None, name: str, vars: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The group's columns once every rule holds; all refusals are reported at once."""
    name = (name or "").strip()
    errors: dict[str, str] = {}

    name_error = group_name_error(name)
    if name_error:
        errors["name"] = name_error
    elif _name_taken(name, group):
        errors["name"] = DUPLICATE_NAME

    variables = dict(vars or {})
    bad = [str(key) for key in variables if not NAME.match(str(key))]
    if bad:
        errors["vars"] = f"Not a valid variable name: {', '.join(bad)}"

    if errors:
        raise ServiceError("The group was not saved.", errors)
    return {"name": name, "vars": variables}


def _name_taken(name: str, group: Group | None) -> bool:
    query = select(Group.id).where(Group.name == name)
    if group is not None and group.id is not None:
        query = query.where(Group.id != group.id)
    return db.session.scalar(query) is not None


def _hosts(host_ids: Iterable[int]) -> list[Host]:
    """The hosts of these ids; an unknown id is refused rather than ignored."""
    wanted = set(host_ids)
    if not wanted:
        return []
    hosts = list(
        db.session.scalars(select(Host).where(Host.id.in_(wanted)).order_by(Host.name))
    )
    if len(hosts) != len(wanted):
        raise ServiceError(
            "The group was not saved.", {"hosts": "One of these hosts is gone."}
        )
    return hosts


def _commit() -> None:
    """Commit, turning a unique-name race with another request into a field error."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        log.warning("group not saved: %s", exc.orig)
        raise ServiceError(
            "The group was not saved.", {"name": DUPLICATE_NAME}
        ) from exc
