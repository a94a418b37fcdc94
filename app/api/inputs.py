"""What a job asks for and a launch answers, as the API reads and writes it: a
job's `parameters` (definitions) and run options, and the same options and the
parameters' values in a launch.

The run options are flat fields of a job and of a launch (`check_mode`,
`tags`, ...), like `forks` always was. A parameter's problems come back named
`parameters.<index>.<field>` (its fields' types checked by `body`, the rest by
the service), a value's `parameters.<name>`.
"""

from __future__ import annotations

from typing import Any

from app.api.schema import ANY, Field, object_schema
from app.services import options as option_service
from app.services import parameters as parameter_service
from app.services.options import BY_NAME, MAX_LIMIT, MAX_USER

PARAMETER_FIELDS = {
    "name": Field(
        "string",
        "An Ansible variable name, unique in the job; the value reaches ansible "
        "under it.",
        extra={"maxLength": parameter_service.MAX_NAME},
    ),
    "label": Field(
        "string",
        "What the launch form calls it; empty for its name.",
        extra={"maxLength": parameter_service.MAX_LABEL, "default": ""},
    ),
    "type": Field(
        "string",
        "How its value is asked and checked; a secret is never shown or stored "
        "in clear, and has no default.",
        extra={"enum": list(parameter_service.TYPES), "default": "text"},
    ),
    "required": Field(
        "boolean",
        "Whether a launch must end up with a value.",
        extra={"default": False},
    ),
    "default": Field(
        ANY,
        "The value when a launch gives none, of its type: a string, a number, "
        "true or false, one choice or a list of them; null for none.",
    ),
    "help": Field(
        "string",
        "A hint under it on the launch form.",
        extra={"maxLength": parameter_service.MAX_HELP, "default": ""},
    ),
    "choices": Field(
        "array",
        "For choice and multichoice: what to choose from.",
        extra={
            "items": {"type": "string", "maxLength": parameter_service.MAX_CHOICE},
            "maxItems": parameter_service.MAX_CHOICES,
        },
    ),
}
_PARAMETER_REQUIRED = ["name"]

PARAMETERS = Field(
    "array",
    "What a launch asks for, in order. A value reaches ansible as an extra "
    "variable of the parameter's name.",
    extra={
        "items": {
            "type": "object",
            **object_schema(PARAMETER_FIELDS, _PARAMETER_REQUIRED),
        },
        "maxItems": parameter_service.MAX_PARAMETERS,
    },
)

VALUES = Field(
    "object",
    "Values of the job's parameters, by name; left out, a parameter takes its "
    "default. Secret values are never answered back.",
    extra={"additionalProperties": True},
)


def _option_field(name: str, **extra: Any) -> Field:
    option = BY_NAME[name]
    kind = {bool: "boolean", int: "integer", str: "string"}[option.type]
    return Field(
        kind, option.help, extra={**extra, "default": option_service.DEFAULTS[name]}
    )


OPTION_FIELDS = {
    "limit": _option_field("limit", maxLength=MAX_LIMIT),
    "tags": _option_field("tags", maxLength=option_service.MAX_TAGS),
    "skip_tags": _option_field("skip_tags", maxLength=option_service.MAX_TAGS),
    "check_mode": _option_field("check_mode"),
    "diff_mode": _option_field("diff_mode"),
    "verbosity": _option_field(
        "verbosity", minimum=0, maximum=option_service.MAX_VERBOSITY
    ),
    "forks": _option_field(
        "forks", minimum=option_service.MIN_FORKS, maximum=option_service.MAX_FORKS
    ),
    "become": _option_field("become"),
    "become_user": _option_field("become_user", maxLength=MAX_USER),
    "become_method": _option_field(
        "become_method", enum=["", *option_service.BECOME_METHODS]
    ),
    "remote_user": _option_field("remote_user", maxLength=MAX_USER),
}
ASK_AT_LAUNCH = Field(
    "array",
    "The names of the run options a launch may answer (the launch form asks "
    "them, with the job's value as the answer).",
    extra={"items": {"type": "string", "enum": list(option_service.NAMES)}},
)


def options_in(data: dict[str, Any], but: str) -> dict[str, Any]:
    """The run options a request gives, by name, but the one its service takes
    as an argument of its own (`forks` of a job, `limit` of a launch)."""
    return {name: data[name] for name in OPTION_FIELDS if name in data and name != but}
