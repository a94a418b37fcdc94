"""A job's parameters: what it asks for at launch, and the values a launch gives.

A parameter has a name (an Ansible variable name, unique in its job), a label
and a help text for the launch form, a `ParameterType`, whether a value is
required, a default and, for the choice types, its choices. A launch's values
are checked against them and reach Ansible as extra variables.

Secret values are never stored in clear: a run keeps them encrypted only while
it lasts (`Run.secrets`), everything else that shows a run's inputs (its page,
the API, the audit trail, a relaunch) reads `masked` values, and the event sink
masks them in the log. So a secret parameter has no default (it would be
stored in the job in clear), and relaunching a run asks for its secrets again.

Problems are reported per field: `parameters.<index>.<part>` for definitions,
as the job form and the API number them, and `parameters.<name>` for values.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.models import ParameterType
from app.models.run import MASKED
from app.validation import NAME, Invalid

MAX_PARAMETERS = 50
MAX_NAME = 64
MAX_LABEL = 255
MAX_HELP = 1000
MAX_CHOICES = 100
MAX_CHOICE = 255
MAX_TEXT = 10_000
TYPES = tuple(kind.value for kind in ParameterType)
# Ansible's own variables: a parameter of that name would hide what ansible sets.
RESERVED = frozenset(
    {
        "hostvars",
        "groups",
        "group_names",
        "inventory_hostname",
        "inventory_hostname_short",
        "inventory_dir",
        "inventory_file",
        "play_hosts",
        "playbook_dir",
        "role_path",
        "role_name",
        "omit",
        "environment",
        "vars",
    }
)
# Words a boolean accepts when it is typed as text (a default on the job form).
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


@dataclass(frozen=True)
class LaunchValues:
    """The values a launch gives its parameters, in three views."""

    # Every value, secrets in clear: for ansible only.
    values: dict[str, Any]
    # The same with secrets replaced by `MASKED`: for anything a person reads.
    masked: dict[str, Any]
    # Only the secret ones, to encrypt into the run and mask in its log.
    secrets: dict[str, str]


def checked_definitions(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    """The parameters to store, each with every key; problems go into `errors`.

    A parameter keeps only what its type uses: choices are dropped from the
    types that have none, as a job keeps only what its kind uses.
    """
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(p, Mapping) for p in raw):
        errors["parameters"] = "Parameters must be a list of objects."
        return []
    if len(raw) > MAX_PARAMETERS:
        errors["parameters"] = f"A job has at most {MAX_PARAMETERS} parameters."
        return []

    checked = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        field = f"parameters.{index}"
        parameter = _definition(item, field, errors)
        name = parameter["name"]
        if name and name in seen:
            errors.setdefault(f"{field}.name", f"{name} is already a parameter.")
        seen.add(name)
        checked.append(parameter)
    return checked


def _definition(item: Mapping[str, Any], field: str, errors: dict[str, str]):
    def refuse(part: str, message: str) -> None:
        errors.setdefault(f"{field}.{part}", message)

    name = _text(item.get("name")).strip()
    if not name:
        refuse("name", "A parameter needs a name.")
    elif len(name) > MAX_NAME:
        refuse("name", f"A name has at most {MAX_NAME} characters.")
    elif not NAME.match(name) or keyword.iskeyword(name):
        refuse(
            "name",
            "An Ansible variable name: letters, digits and _, not starting with "
            "a digit.",
        )
    elif name in RESERVED or name.startswith("ansible_"):
        refuse("name", f"{name} is a variable of Ansible's own: choose another.")

    label = _text(item.get("label")).strip()
    if len(label) > MAX_LABEL:
        refuse("label", f"A label has at most {MAX_LABEL} characters.")
    help_text = _text(item.get("help")).strip()
    if len(help_text) > MAX_HELP:
        refuse("help", f"A help text has at most {MAX_HELP} characters.")

    kind = item.get("type") or ParameterType.TEXT
    if kind not in TYPES:
        refuse("type", "Choose one of: " + ", ".join(TYPES) + ".")
        kind = ParameterType.TEXT
    kind = ParameterType(kind)

    required = item.get("required", False)
    if not isinstance(required, bool):
        refuse("required", "Must be true or false.")
        required = False

    choices: list[str] = []
    if kind.has_choices:
        choices = _choices(item.get("choices"), field, errors)

    default = item.get("default")
    if default is not None:
        if kind is ParameterType.SECRET:
            refuse(
                "default",
                "A secret has no default: it would be stored in clear. It is "
                "asked at each launch.",
            )
            default = None
        else:
            try:
                default = check_value(kind, default, choices)
            except Invalid as exc:
                refuse("default", f"Not a valid default: {exc}")
                default = None

    return {
        "name": name,
        "label": label or name,
        "type": kind.value,
        "required": required,
        "default": default,
        "help": help_text,
        "choices": choices,
    }


def _choices(raw: Any, field: str, errors: dict[str, str]) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        errors.setdefault(f"{field}.choices", "Choices are a list of texts.")
        return []
    choices = [choice.strip() for choice in raw if choice.strip()]
    if not choices:
        errors.setdefault(f"{field}.choices", "A choice needs at least one choice.")
    elif len(choices) > MAX_CHOICES:
        errors.setdefault(f"{field}.choices", f"At most {MAX_CHOICES} choices.")
    elif len(set(choices)) != len(choices):
        errors.setdefault(f"{field}.choices", "A choice is listed twice.")
    elif any(len(choice) > MAX_CHOICE for choice in choices):
        errors.setdefault(
            f"{field}.choices", f"A choice has at most {MAX_CHOICE} characters."
        )
    return choices


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def check_value(kind: ParameterType, value: Any, choices: Iterable[str]) -> Any:
    """`value` if it is one of `kind`'s, as stored (a whole number as an int)."""
    if kind in (ParameterType.TEXT, ParameterType.SECRET):
        if not isinstance(value, str):
            raise Invalid("it must be a text.")
        if len(value) > MAX_TEXT:
            raise Invalid(f"use at most {MAX_TEXT} characters.")
        return value
    if kind is ParameterType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid("it must be a number.")
        if not math.isfinite(value):
            raise Invalid("it must be a finite number.")
        return int(value) if float(value).is_integer() else value
    if kind is ParameterType.BOOLEAN:
        if not isinstance(value, bool):
            raise Invalid("it must be true or false.")
        return value
    if kind is ParameterType.CHOICE:
        if value not in list(choices):
            raise Invalid("choose one of: " + ", ".join(choices) + ".")
        return value
    allowed = list(choices)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid("it must be a list of choices.")
    wrong = [v for v in value if v not in allowed]
    if wrong:
        raise Invalid(f"not a choice: {', '.join(wrong)}.")
    # In the order of the choices, each once, whatever order they came in.
    return [choice for choice in allowed if choice in value]


def from_text(kind: str, text: str) -> Any:
    """A value typed into a text input (a default on the job form), for `kind`.

    Empty text means no value (None). Multiple choices are separated by commas.
    `Invalid` says what is wrong; `check_value` checks the result.
    """
    text = text.strip()
    if not text:
        return None
    if kind == ParameterType.NUMBER:
        try:
            number = float(text)
        except ValueError:
            raise Invalid("it must be a number.") from None
        return number
    if kind == ParameterType.BOOLEAN:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise Invalid("write true or false.")
    if kind == ParameterType.MULTICHOICE:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def launch_values(
    definitions: list[dict[str, Any]],
    given: Mapping[str, Any] | None,
    errors: dict[str, str],
    *,
    kept: Mapping[str, Any] | None = None,
) -> LaunchValues:
    """Check a launch's values against the job's parameters.

    A parameter left out (or None) takes, in order: the value `kept` from the
    run being relaunched, its default, or nothing at all (it is then not passed
    to ansible); a required one must end up with a value. A kept secret is only
    `MASKED`: it must be given again.
    """
    given = dict(given or {})
    kept = kept or {}
    known = {parameter["name"] for parameter in definitions}
    for name in given:
        if name not in known:
            errors[f"parameters.{name}"] = "Not a parameter of this job."

    values: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for parameter in definitions:
        name = parameter["name"]
        kind = ParameterType(parameter["type"])
        field = f"parameters.{name}"
        value = given.get(name)
        if value is None and name in kept:
            value = kept[name]
            if kind is ParameterType.SECRET and value == MASKED:
                errors[field] = (
                    "Give this secret again: secrets are not kept once a run ends."
                )
                continue
        if value is None:
            value = parameter.get("default")
        if _empty(value):
            if parameter.get("required"):
                errors[field] = f"{parameter['label']} is required."
                continue
            if value is None:
                continue
        try:
            value = check_value(kind, value, parameter.get("choices") or [])
        except Invalid as exc:
            errors[field] = str(exc).capitalize()
            continue
        values[name] = value
        if kind is ParameterType.SECRET and value:
            secrets[name] = value

    masked = {name: MASKED if name in secrets else v for name, v in values.items()}
    return LaunchValues(values, masked, secrets)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def secret_names(definitions: list[dict[str, Any]]) -> set[str]:
    return {p["name"] for p in definitions if p["type"] == ParameterType.SECRET}
