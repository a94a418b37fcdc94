"""The forms' side of what a job asks for and a launch answers: the rows of
parameters and the run options on the job form, and the launch form built from
a job's parameters and the options it asks for.

Parameters are edited as rows of a table, one parameter a row, rather than as a
YAML text: the type is picked from a list, the choices and the default are
typed as they will be answered, and each problem shows in the cell it is
about. Rows are added by a button that posts the form back (no JavaScript
needed) and removed by ticking their Remove box. Values typed as text (a
default, a number) are read by `app.services.parameters.from_text`; the service
decides what is valid.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Form,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.widgets import CheckboxInput, ListWidget

from app.models import ParameterType
from app.services import options as option_service
from app.services import parameters as parameter_service
from app.validation import Invalid

TYPE_LABELS = {
    ParameterType.TEXT: "Text",
    ParameterType.NUMBER: "Number",
    ParameterType.CHOICE: "Choice",
    ParameterType.MULTICHOICE: "Multiple choice",
    ParameterType.BOOLEAN: "Yes / no",
    ParameterType.SECRET: "Secret",
}
# The launch form's inputs of parameters are named apart from the options'.
PREFIX = "param_"


class ParameterRow(Form):
    """One parameter on the job form; the outer form carries the CSRF token."""

    name = StringField(
        "Name",
        render_kw={"maxlength": 64, "autocomplete": "off", "spellcheck": "false"},
    )
    label = StringField("Label", render_kw={"maxlength": 255})
    type = SelectField(
        "Type",
        choices=[SelectChoice(kind, label) for kind, label in TYPE_LABELS.items()],
        default=ParameterType.TEXT,
        validate_choice=False,
    )
    required = BooleanField("Required")
    default = StringField("Default", render_kw={"autocomplete": "off"})
    choices = StringField(
        "Choices", render_kw={"autocomplete": "off", "placeholder": "small, large"}
    )
    help = StringField("Help text")
    remove = BooleanField("Remove")

    def is_blank(self) -> bool:
        parts = (self.name, self.label, self.default, self.choices, self.help)
        return not any((part.data or "").strip() for part in parts)


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes, not a select to Ctrl-click."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _help(name: str) -> str:
    return option_service.BY_NAME[name].help


class OptionFields:
    """The run options of the job form, also asked on the launch form."""

    limit = StringField(
        "Limit",
        description=_help("limit"),
        render_kw={"autocomplete": "off", "spellcheck": "false", "placeholder": "all"},
    )
    tags = StringField(
        "Tags",
        description=_help("tags"),
        render_kw={"autocomplete": "off", "placeholder": "deploy, config"},
    )
    skip_tags = StringField(
        "Skip tags", description=_help("skip_tags"), render_kw={"autocomplete": "off"}
    )
    check_mode = BooleanField("Check mode", description=_help("check_mode"))
    diff_mode = BooleanField("Diff mode", description=_help("diff_mode"))
    verbosity = SelectField(
        "Verbosity",
        description=_help("verbosity"),
        choices=[
            SelectChoice(0, "0: normal"),
            *(
                SelectChoice(level, f"{level}: -{'v' * level}")
                for level in range(1, option_service.MAX_VERBOSITY + 1)
            ),
        ],
        coerce=int,
        default=0,
        validate_choice=False,
    )
    forks = IntegerField(
        "Forks", description=_help("forks"), default=5, render_kw={"min": 1, "max": 200}
    )
    become = BooleanField("Become", description=_help("become"))
    become_user = StringField(
        "Become user",
        description=_help("become_user"),
        render_kw={"autocomplete": "off", "placeholder": "root"},
    )
    become_method = SelectField(
        "Become method",
        description=_help("become_method"),
        choices=[
            SelectChoice("", "default (sudo)"),
            *(SelectChoice(method) for method in option_service.BECOME_METHODS),
        ],
        default="",
        validate_choice=False,
    )
    remote_user = StringField(
        "Remote user",
        description=_help("remote_user"),
        render_kw={"autocomplete": "off"},
    )
    ask_at_launch = SelectMultipleField(
        "Ask at launch",
        choices=[SelectChoice(o.name, o.label) for o in option_service.OPTIONS],
        validate_choice=False,
    )


def option_values(form: Any, names: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The options of `names` as the form parsed them, for a service."""
    values = {}
    for name in names:
        value = form[name].data
        if isinstance(value, str) or value is None:
            value = value or ""
        values[name] = value
    return values


def parameter_rows(form: Any) -> list[tuple[Any, dict[str, Any]]]:
    """The job form's parameter rows that are kept, each with the definition it
    gives the service. A default that cannot be read keeps its message."""
    rows = []
    for entry in form.parameters:
        row = entry.form
        if row.remove.data or row.is_blank():
            continue
        kind = row.type.data or ParameterType.TEXT
        try:
            default = parameter_service.from_text(kind, row.default.data or "")
        except Invalid as exc:
            row.default.errors = [f"Not a valid default: {exc}"]
            default = None
        choices = [c.strip() for c in (row.choices.data or "").split(",")]
        rows.append(
            (
                entry,
                {
                    "name": row.name.data or "",
                    "label": row.label.data or "",
                    "type": kind,
                    "required": bool(row.required.data),
                    "default": default,
                    "help": row.help.data or "",
                    "choices": [choice for choice in choices if choice],
                },
            )
        )
    return rows


def row_aliases(rows: list[tuple[Any, dict[str, Any]]]) -> dict[str, str]:
    """The service numbers the parameters it was given: `parameters.<i>.<part>`."""
    return {
        f"parameters.{index}.{part}": entry.form[part].name
        for index, (entry, _) in enumerate(rows)
        for part in ("name", "label", "type", "required", "default", "help", "choices")
    }


def row_data(parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A job's parameters as the rows' data."""
    return [
        {
            "name": parameter["name"],
            "label": parameter["label"]
            if parameter["label"] != parameter["name"]
            else "",
            "type": parameter["type"],
            "required": parameter["required"],
            "default": default_text(parameter),
            "choices": ", ".join(parameter.get("choices") or ()),
            "help": parameter.get("help") or "",
        }
        for parameter in parameters
    ]


def default_text(parameter: dict[str, Any]) -> str:
    """A default as it is typed on the job form."""
    default = parameter.get("default")
    if default is None:
        return ""
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, list):
        return ", ".join(default)
    return str(default)


def launch_form(
    parameters: list[dict[str, Any]], asked: list[str] | tuple[str, ...]
) -> type[FlaskForm]:
    """A form class with an input per parameter and per option asked."""
    attributes: dict[str, Any] = {}
    for parameter in parameters:
        attributes[PREFIX + parameter["name"]] = _input(parameter)
    for name in asked:
        attributes[name] = getattr(OptionFields, name)
    return type("LaunchForm", (FlaskForm,), attributes)


def _input(parameter: dict[str, Any]) -> Any:
    kind = ParameterType(parameter["type"])
    label = parameter["label"] or parameter["name"]
    description = parameter.get("help") or ""
    default = parameter.get("default")
    if kind is ParameterType.BOOLEAN:
        return BooleanField(label, description=description, default=bool(default))
    if kind is ParameterType.SECRET:
        return PasswordField(
            label, description=description, render_kw={"autocomplete": "off"}
        )
    choices = [SelectChoice(choice) for choice in parameter.get("choices") or ()]
    if kind is ParameterType.CHOICE:
        return SelectField(
            label,
            description=description,
            choices=[SelectChoice("", "— choose —"), *choices],
            default=default or "",
            validate_choice=False,
        )
    if kind is ParameterType.MULTICHOICE:
        return MultiCheckboxField(
            label,
            description=description,
            choices=choices,
            default=default or [],
            validate_choice=False,
        )
    render_kw = {"autocomplete": "off"}
    if kind is ParameterType.NUMBER:
        render_kw |= {"inputmode": "decimal"}
    return StringField(
        label,
        description=description,
        default=default_text(parameter),
        render_kw=render_kw,
    )


def launch_values(form: Any, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    """The parameters' values the launch form gives, read by type; an input
    left empty gives none (the parameter's default then applies). A number that
    cannot be read gets its message and no value."""
    values: dict[str, Any] = {}
    for parameter in parameters:
        field = form[PREFIX + parameter["name"]]
        kind = ParameterType(parameter["type"])
        if kind is ParameterType.BOOLEAN:
            values[parameter["name"]] = bool(field.data)
            continue
        if kind is ParameterType.MULTICHOICE:
            values[parameter["name"]] = list(field.data or [])
            continue
        try:
            value = parameter_service.from_text(kind, field.data or "")
        except Invalid as exc:
            field.errors = [str(exc).capitalize()]
            continue
        if kind is ParameterType.SECRET:
            # A secret is taken as typed, spaces and all.
            value = field.data or None
        if value is not None:
            values[parameter["name"]] = value
    return values


def value_aliases(parameters: list[dict[str, Any]]) -> dict[str, str]:
    return {f"parameters.{p['name']}": PREFIX + p["name"] for p in parameters}


def split_fields(form: Any) -> tuple[list[Any], list[Any]]:
    """The launch form's inputs: those of parameters, then those of options."""
    fields = [field for field in form if field.name != "csrf_token"]
    parameters = [field for field in fields if field.name.startswith(PREFIX)]
    return parameters, [field for field in fields if field not in parameters]
