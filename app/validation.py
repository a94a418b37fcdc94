"""Checks of user input shared by the forms and the API.

Each function returns the parsed value or raises `Invalid` with a message a person
can act on (with the line number for YAML).
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml


class Invalid(ValueError):
    """Input that cannot be accepted; the message says why and where."""


# Ansible variable, group and host-pattern friendly names.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_GROUPS = {"all", "ungrouped"}
# A host name may also hold dots and dashes (web-1.example.org).
HOST_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def yaml_error_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return problem


_LINE = re.compile(r"\bline (\d+), column \d+:")


def error_line(message: str) -> int | None:
    """The line a message of `yaml_error_message` points at, for the editor."""
    match = _LINE.search(message or "")
    return int(match.group(1)) if match else None


def parse_yaml(text: str) -> Any:
    """Any YAML document; `Invalid` names the line of the error."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(f"Invalid YAML at {yaml_error_message(exc)}") from exc


def parse_vars(text: str) -> dict[str, Any]:
    """Variables as a YAML or JSON mapping; empty text means none."""
    if not text or not text.strip():
        return {}
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            value = parse_yaml(text)  # YAML flow style is a superset of JSON
    else:
        value = parse_yaml(text)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid("Variables must be a mapping of names to values.")
    bad = [str(key) for key in value if not NAME.match(str(key))]
    if bad:
        raise Invalid(f"Not a valid variable name: {', '.join(bad)}")
    return value


def vars_to_text(value: dict[str, Any]) -> str:
    """Variables shown back in a form, as YAML."""
    if not value:
        return ""
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False)


def check_playbook_yaml(text: str) -> None:
    """A playbook or tasks file must at least be YAML; `Invalid` names the line."""
    parse_yaml(text)
