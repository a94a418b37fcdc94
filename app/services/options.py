"""Run options: how ansible runs a job (limit, tags, check mode, verbosity, ...).

A job sets each option, and may ask for some of them at launch (`ask_at_launch`):
the launch form then shows them with the job's value as the answer, and the
API's launch takes them. An option the job does not ask for is refused at
launch, so a job saved as a dry run (check mode) is never run for real by a
launch that flips it. The limit is the exception the API always had: any
launch may give one, as it can only pick among the job's own hosts.

The values end up on ansible's command line (`app.runner.execute`); the run
keeps the ones it was given (`Run.options`, `Run.limit`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.models import Job, JobKind

# Characters of a limit; a host pattern, not a list of every host.
MAX_LIMIT = 1024
# Host names, groups, wildcards, ranges and the operators , : ! & ~ of Ansible's
# patterns. No "@": ansible-playbook reads `--limit @file` from the worker's disk.
_LIMIT = re.compile(r"^[A-Za-z0-9_.*?!&:,~\[\]\-]*$")
MAX_TAGS = 1024
_TAG = re.compile(r"^[A-Za-z0-9_.:\-]+$")
MIN_FORKS, MAX_FORKS = 1, 200
MAX_VERBOSITY = 4
MAX_USER = 64
# A Unix user name (a trailing $ is allowed, as for Samba machine accounts).
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*\$?$")
# The ways to become another user that ansible-core ships for Unix hosts; the
# others (doas, pbrun, ...) need collections Playdeck does not install.
BECOME_METHODS = ("sudo", "su")


@dataclass(frozen=True)
class Option:
    name: str
    label: str
    type: type
    # For the form and the API's description.
    help: str
    playbook_only: bool = False


OPTIONS = (
    Option(
        "limit", "Limit", str, "A host pattern narrowing the hosts, like web* or db1."
    ),
    Option(
        "tags",
        "Tags",
        str,
        "Run only the tasks with these tags, separated by commas.",
        playbook_only=True,
    ),
    Option(
        "skip_tags",
        "Skip tags",
        str,
        "Skip the tasks with these tags, separated by commas.",
        playbook_only=True,
    ),
    Option(
        "check_mode",
        "Check mode",
        bool,
        "A dry run: ansible reports what it would change and changes nothing.",
    ),
    Option(
        "diff_mode",
        "Diff mode",
        bool,
        "Show what changes in files and settings; with check mode, a preview.",
    ),
    Option(
        "verbosity",
        "Verbosity",
        int,
        f"0 to {MAX_VERBOSITY}: how much ansible prints (-v to -vvvv).",
    ),
    Option("forks", "Forks", int, f"Hosts worked on at once, {MIN_FORKS} to 200."),
    Option("become", "Become", bool, "Run the tasks as another user (sudo or su)."),
    Option("become_user", "Become user", str, "Whom to become; empty means root."),
    Option("become_method", "Become method", str, "sudo or su; empty means sudo."),
    Option(
        "remote_user",
        "Remote user",
        str,
        "Whom to connect as over SSH; a credential's user name wins over it.",
    ),
)
BY_NAME = {option.name: option for option in OPTIONS}
NAMES = tuple(BY_NAME)
# What a run records as its options: all but the limit, which has its column.
RUN_NAMES = tuple(name for name in NAMES if name != "limit")
DEFAULTS: dict[str, Any] = {
    "limit": "",
    "tags": "",
    "skip_tags": "",
    "check_mode": False,
    "diff_mode": False,
    "verbosity": 0,
    "forks": 5,
    "become": False,
    "become_user": "",
    "become_method": "",
    "remote_user": "",
}


def of_job(job: Job) -> dict[str, Any]:
    """The job's value of every option."""
    return {name: getattr(job, name) for name in NAMES}


def checked(
    raw: Mapping[str, Any], kind: str, errors: dict[str, str]
) -> dict[str, Any]:
    """Every option's value for a job of `kind`, checked; defaults for those
    left out. Problems go into `errors` under the option's name.

    Only a playbook job keeps tags, as a job keeps only what its kind uses:
    the form hides them for the others, and neither `ansible` (ad hoc) nor the
    copy an upload job runs has tasks to select.
    """
    values = {}
    for name in NAMES:
        value = raw.get(name, DEFAULTS[name])
        if kind != JobKind.PLAYBOOK and BY_NAME[name].playbook_only:
            value = DEFAULTS[name]
        values[name] = _checked_one(name, value, kind, errors)
    return values


def checked_ask(raw: Any, kind: str, errors: dict[str, str]) -> list[str]:
    """The names of the options a job asks for at launch, in the form's order."""
    if raw is None:
        return []
    if not isinstance(raw, list | tuple) or not all(isinstance(n, str) for n in raw):
        errors["ask_at_launch"] = "A list of option names."
        return []
    unknown = [name for name in raw if name not in BY_NAME]
    if unknown:
        errors["ask_at_launch"] = (
            f"Not an option: {', '.join(unknown)}. Choose among {', '.join(NAMES)}."
        )
        return []
    return [
        name
        for name in NAMES
        if name in raw
        and not (kind != JobKind.PLAYBOOK and BY_NAME[name].playbook_only)
    ]


def for_launch(
    job: Job,
    given: Mapping[str, Any] | None,
    errors: dict[str, str],
    *,
    limit: str | None = None,
) -> dict[str, Any]:
    """The options a run of `job` gets: the job's, with the answers of `given`
    for those it asks at launch. `limit` None keeps the job's limit."""
    values = of_job(job)
    asked = set(job.ask_at_launch or ())
    for name, value in (given or {}).items():
        if name not in BY_NAME:
            errors[name] = "Not a run option."
        elif name not in asked and name != "limit":
            errors[name] = (
                f"This job does not ask for {BY_NAME[name].label.lower()} at "
                "launch: change it on the job, or have the job ask for it."
            )
        else:
            values[name] = _checked_one(name, value, job.kind, errors)
    if limit is not None:
        values["limit"] = _checked_one("limit", limit, job.kind, errors)
    return values


def recorded(values: Mapping[str, Any]) -> dict[str, Any]:
    """What a run keeps of its options (`Run.options`): all but the limit."""
    return {name: values[name] for name in RUN_NAMES}


def described(
    values: Mapping[str, Any], but: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """The options that differ from ansible's defaults, as (label, value) for a
    person to read: "Check mode: yes", "Tags: web,db". `but` leaves some out."""
    shown = []
    for option in OPTIONS:
        value = values.get(option.name, DEFAULTS[option.name])
        if option.name in but or value == DEFAULTS[option.name]:
            continue
        if option.type is bool:
            value = "yes" if value else "no"
        shown.append((option.label, str(value)))
    return shown


def _checked_one(name: str, value: Any, kind: str, errors: dict[str, str]) -> Any:
    option = BY_NAME[name]
    problem = _problem(option, value)
    if problem:
        errors.setdefault(name, problem)
        return DEFAULTS[name]
    if name in ("tags", "skip_tags"):
        return ",".join(tag.strip() for tag in value.split(",") if tag.strip())
    return value.strip() if option.type is str else value


def _problem(option: Option, value: Any) -> str | None:
    if option.type is bool:
        return None if isinstance(value, bool) else "Must be yes or no."
    if option.type is int:
        if type(value) is not int:
            return "Must be a whole number."
        low, high = (
            (MIN_FORKS, MAX_FORKS) if option.name == "forks" else (0, MAX_VERBOSITY)
        )
        if not low <= value <= high:
            return f"{option.label} must be between {low} and {high}."
        return None
    if not isinstance(value, str):
        return "Must be a text."
    value = value.strip()
    if option.name == "limit":
        if len(value) > MAX_LIMIT:
            return f"Use a host pattern of at most {MAX_LIMIT} characters."
        if not _LIMIT.match(value):
            return (
                "A limit is an Ansible host pattern: names, groups, * ? [ ] and "
                ", : ! & ~"
            )
        return None
    if option.name in ("tags", "skip_tags"):
        if len(value) > MAX_TAGS:
            return f"Use at most {MAX_TAGS} characters."
        tags = [tag.strip() for tag in value.split(",") if tag.strip()]
        if any(not _TAG.match(tag) for tag in tags):
            return "Tag names, separated by commas: letters, digits and _ . : -"
        return None
    if option.name == "become_method":
        if value and value not in BECOME_METHODS:
            return "Choose " + " or ".join(BECOME_METHODS) + ", or leave it empty."
        return None
    if len(value) > MAX_USER:
        return f"A user name has at most {MAX_USER} characters."
    if value and not _USER.match(value):
        return "A user name: letters, digits and _ . -"
    return None
