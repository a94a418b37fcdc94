"""Hosts: adding, changing and removing the machines Ansible connects to.

The pages and the API hand plain values here; every rule about a host (its name,
port, connection, variables) is checked in this module and refused with a
`ServiceError` that names the field.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.models import (
    AuditAction,
    Connection,
    Group,
    Host,
    Job,
    Run,
    RunHost,
)
from app.models.run_host import WENT_WRONG
from app.services import ServiceError
from app.validation import HOST_NAME, NAME

log = logging.getLogger(__name__)

DUPLICATE_NAME = "A host with this name already exists."
# Runs a host page lists; older ones stay on the runs page.
RECENT_RUNS = 20


def hosts_query(search: str = "") -> Select[tuple[Host]]:
    """Hosts by name, those whose name or address contains `search` when given.

    A query rather than a list, so that pages can paginate it.
    """
    query = select(Host).options(selectinload(Host.groups)).order_by(Host.name)
    search = search.strip()
    if search:
        # autoescape: a `%` or `_` typed in the search box means itself.
        query = query.where(
            Host.name.icontains(search, autoescape=True)
            | Host.address.icontains(search, autoescape=True)
        )
    return query


def all_hosts() -> list[Host]:
    """Every host by name, for the choices of a form."""
    return list(db.session.scalars(select(Host).order_by(Host.name)))


def host_name_error(name: str) -> str | None:
    """Why a host name cannot be used, or None; forms call it to answer early."""
    if not name:
        return "Give the host a name."
    if len(name) > 255:
        return "Use at most 255 characters."
    if not HOST_NAME.match(name):
        return (
            "Use letters, digits, '_', '.' and '-', starting with a letter, "
            "a digit or '_'."
        )
    return None


def create_host(
    *,
    name: str,
    address: str,
    port: int = 22,
    connection: str = Connection.SSH,
    vars: Mapping[str, Any] | None = None,
    group_ids: Iterable[int] = (),
) -> Host:
    """Add a host; `ServiceError` says which field is refused and why."""
    values = _checked(None, name, address, port, connection, vars)
    groups = _groups(group_ids)

    host = Host(**values)
    host.groups = groups
    db.session.add(host)
    _commit()
    log.info("host %s created id=%s", host.name, host.id)
    audit.record(
        AuditAction.CREATE, host, f"host {host.name} added", changes=_view(host)
    )
    return host


def update_host(
    host: Host,
    *,
    name: str,
    address: str,
    port: int,
    connection: str,
    vars: Mapping[str, Any] | None,
    group_ids: Iterable[int],
) -> Host:
    """Change every field of a host; the groups given replace its groups."""
    # Check before touching the row: a query with a half-changed host in the
    # session would flush it and fail on the unique name before we can say so.
    values = _checked(host, name, address, port, connection, vars)
    groups = _groups(group_ids)
    before = _view(host)

    for key, value in values.items():
        setattr(host, key, value)
    host.groups = groups
    _commit()
    log.info("host %s updated id=%s", host.name, host.id)
    changes = audit.changed(before, _view(host))
    audit.record(
        AuditAction.UPDATE,
        host,
        f"host {host.name} changed: {', '.join(changes) or 'nothing'}",
        changes=changes,
    )
    return host


def delete_host(host: Host) -> int:
    """Remove a host; returns how many jobs targeted it directly.

    Those jobs stay: the database drops the host from them (ON DELETE CASCADE on
    the association), and their runs keep the host's name in their summary.
    """
    jobs = len(jobs_targeting(host))
    name, host_id = host.name, host.id
    gone = audit.ref(host)

    db.session.delete(host)
    db.session.commit()
    log.info("host %s deleted id=%s jobs=%s", name, host_id, jobs)
    audit.record(AuditAction.DELETE, gone, f"host {name} deleted")
    return jobs


def jobs_targeting(host: Host) -> list[Job]:
    """The jobs, by name, that name this host as a target (quick commands aside)."""
    return list(
        db.session.scalars(
            select(Job)
            .where(Job.hosts.any(Host.id == host.id), Job.hidden.is_(False))
            .order_by(Job.name)
        )
    )


@dataclass(frozen=True)
class HostRun:
    """A finished run that reached a host, with how it went on that host."""

    run: Run
    result: RunHost


def recent_runs(host: Host, limit: int = RECENT_RUNS) -> list[HostRun]:
    """The newest finished runs that reached this host, of any job, however
    they targeted it (by name, through a group, a quick command).
    """
    rows = db.session.execute(
        select(Run, RunHost)
        .join(RunHost, RunHost.run_id == Run.id)
        .where(RunHost.host == host.name)
        .options(selectinload(Run.job), selectinload(Run.launched_by))
        .order_by(RunHost.run_id.desc())
        .limit(limit)
    )
    return [HostRun(run, result) for run, result in rows]


def last_result_by_job(host: Host) -> list[HostRun]:
    """The host's newest finished run of every job, jobs by name (quick commands,
    each a job of its own, are among the recent runs only).
    """
    newest = (
        select(func.max(RunHost.run_id))
        .join(Job, Job.id == RunHost.job_id)
        .where(RunHost.host == host.name, Job.hidden.is_(False))
        .group_by(RunHost.job_id)
    )
    rows = db.session.execute(
        select(Run, RunHost)
        .join(RunHost, RunHost.run_id == Run.id)
        .join(Job, Job.id == Run.job_id)
        .where(RunHost.host == host.name, RunHost.run_id.in_(newest))
        .options(selectinload(Run.job))
        .order_by(Job.name)
    )
    return [HostRun(run, result) for run, result in rows]


@dataclass(frozen=True)
class HostHealth:
    """A host's finished runs of the last days: how many, how many went wrong on
    it, and its newest result.
    """

    runs: int
    bad: int
    last: str | None


# Days the hosts list counts a host's runs over.
HEALTH_DAYS = 7


def health(names: Iterable[str], now: datetime) -> dict[str, HostHealth]:
    """For these hosts (a page of the list): their runs of the last days."""
    wanted = list(names)
    if not wanted:
        return {}
    since = now - timedelta(days=HEALTH_DAYS)
    went_wrong = RunHost.outcome.in_(WENT_WRONG)
    counted = db.session.execute(
        select(
            RunHost.host,
            func.count(),
            func.sum(case((went_wrong, 1), else_=0)),
            func.max(RunHost.run_id),
        )
        .where(RunHost.host.in_(wanted), RunHost.finished_at >= since)
        .group_by(RunHost.host)
    ).all()
    pairs = [(run_id, host) for host, _, _, run_id in counted]
    last = {}
    if pairs:
        last = dict(
            db.session.execute(
                select(RunHost.host, RunHost.outcome).where(
                    tuple_(RunHost.run_id, RunHost.host).in_(pairs)
                )
            ).all()
        )
    return {
        host: HostHealth(runs, int(bad or 0), last.get(host))
        for host, runs, bad, _ in counted
    }


def _view(host: Host) -> dict[str, Any]:
    """A host as the audit trail keeps it."""
    return {
        "name": host.name,
        "address": host.address,
        "port": host.port,
        "connection": host.connection,
        "vars": dict(host.vars or {}),
        "groups": [group.name for group in host.groups],
    }


def _checked(
    host: Host | None,
    name: str,
    address: str,
    port: int,
    connection: str,
    vars: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The host's columns once every rule holds; all refusals are reported at once."""
    name = (name or "").strip()
    address = (address or "").strip()
    errors: dict[str, str] = {}

    name_error = host_name_error(name)
    if name_error:
        errors["name"] = name_error
    elif _name_taken(name, host):
        errors["name"] = DUPLICATE_NAME

    if not address:
        errors["address"] = "Give the address Ansible connects to."
    elif len(address) > 255 or any(char.isspace() for char in address):
        errors["address"] = "An address is a name or an IP, without spaces."

    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        errors["port"] = "A port is a number from 1 to 65535."

    if connection not in {choice.value for choice in Connection}:
        choices = ", ".join(choice.value for choice in Connection)
        errors["connection"] = f"Choose one of: {choices}."

    variables = dict(vars or {})
    bad = [str(key) for key in variables if not NAME.match(str(key))]
    if bad:
        errors["vars"] = f"Not a valid variable name: {', '.join(bad)}"

    if errors:
        raise ServiceError("The host was not saved.", errors)
    return {
        "name": name,
        "address": address,
        "port": port,
        "connection": Connection(connection).value,
        "vars": variables,
    }


def _name_taken(name: str, host: Host | None) -> bool:
    query = select(Host.id).where(Host.name == name)
    if host is not None and host.id is not None:
        query = query.where(Host.id != host.id)
    return db.session.scalar(query) is not None


def _groups(group_ids: Iterable[int]) -> list[Group]:
    """The groups of these ids; an unknown id is refused rather than ignored."""
    wanted = set(group_ids)
    if not wanted:
        return []
    groups = list(
        db.session.scalars(
            select(Group).where(Group.id.in_(wanted)).order_by(Group.name)
        )
    )
    if len(groups) != len(wanted):
        raise ServiceError(
            "The host was not saved.", {"groups": "One of these groups is gone."}
        )
    return groups


def _commit() -> None:
    """Commit, turning a unique-name race with another request into a field error."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        log.warning("host not saved: %s", exc.orig)
        raise ServiceError("The host was not saved.", {"name": DUPLICATE_NAME}) from exc
