"""What the form pages share: their fields, their answers, and how a service's
refusal shows on them.

A form page answers 200 when it shows a form and `INVALID` when a post comes back
to it with errors. A form that does not even parse is never given to the service;
one that parses is, and whatever the service refuses lands on the same form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from flask import flash, render_template, request
from flask_wtf import FlaskForm
from wtforms import Field, FieldList, FormField, SelectChoice, TextAreaField
from wtforms.validators import ValidationError

from app.services import ServiceError
from app.validation import Invalid, parse_vars

# A form sent back with errors answers 422, so HTMX and tests can tell it from a
# page that merely shows a form.
INVALID = 422

T = TypeVar("T")


class VarsField(TextAreaField):
    """Variables typed as YAML or JSON; `parsed` holds the mapping once valid."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parsed: dict[str, Any] = {}

    def pre_validate(self, form: FlaskForm) -> None:
        try:
            self.parsed = parse_vars(self.data or "")
        except Invalid as exc:
            raise ValidationError(str(exc)) from exc


def optional_id(value: Any) -> int | None:
    """Coerce a select's value: the empty option means none."""
    if value in (None, ""):
        return None
    return int(value)


def choices(rows: Iterable[Any]) -> list[SelectChoice]:
    """One option per row, its id as the value and its name as the label."""
    return [SelectChoice(row.id, row.name) for row in rows]


def show_service_error(
    form: FlaskForm, error: ServiceError, aliases: Mapping[str, str] | None = None
) -> None:
    """Show a service's refusal on the form that was given to it.

    The service's message says what went wrong as a whole and is flashed. Each
    field message goes under the input of that name, or of the name `aliases`
    maps it to where the form calls it otherwise (inputs of nested forms by their
    full name, like `files-0-name`); one for an input the form lacks goes above
    the form. An input that could not even be parsed keeps its own message alone:
    the service's, about the value it was given instead, would only confuse.
    """
    flash(error.message, "error")
    inputs = _inputs(form)
    aliases = aliases or {}
    for name, message in error.fields.items():
        field = inputs.get(aliases.get(name, name))
        if field is None:
            form.form_errors.append(message)
        elif not field.errors:
            field.errors = [message]


def _inputs(fields: Iterable[Field]) -> dict[str, Field]:
    """The inputs of a form by name, with those of its nested forms and lists."""
    found: dict[str, Field] = {}
    for field in fields:
        if isinstance(field, FieldList | FormField):
            found.update(_inputs(field))
        else:
            found[field.name] = field
    return found


def save_form(
    form: FlaskForm,
    what: str,
    save: Callable[[], T],
    aliases: Mapping[str, str] | None = None,
) -> T | None:
    """Save a posted form with `save`, a service call; None when it shows errors.

    `what` names the thing in the message of a form that does not parse.
    """
    if not form.is_submitted():
        return None
    if not form.validate():
        flash(f"The {what} was not saved: see the fields marked below.", "error")
        return None
    try:
        return save()
    except ServiceError as error:
        show_service_error(form, error, aliases)
        return None


def render_form(template: str, form: FlaskForm, **context: Any) -> tuple[str, int]:
    """A form's page: `INVALID` when a post comes back to it, 200 on a first view."""
    status = INVALID if request.method == "POST" else 200
    return render_template(template, form=form, **context), status


def jobs_phrase(count: int) -> str:
    """How many jobs, for the message after a delete."""
    return "1 job" if count == 1 else f"{count} jobs"
