"""The API's fields, written once: the OpenAPI document is made from them and
request bodies are checked against them, so the two cannot drift apart.

The checks here are about types only (a port is a whole number, `groups` a list
of ids); what a valid host or job is stays the services' business, and their
refusals come back with the same field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import request

# Ids are stored as 64-bit integers; a bigger one is no id of ours.
MAX_ID = 2**63 - 1
# Beyond this, an offset would overflow the database's integers.
MAX_PAGE = 1_000_000
PER_PAGE = 25
MAX_PER_PAGE = 100


class ApiError(Exception):
    """An answer other than success: its status, a message and per-field errors."""

    def __init__(
        self, status: int, message: str, fields: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = dict(fields or {})


@dataclass(frozen=True)
class Field:
    """One field of an object, as the API reads and writes it."""

    type: str
    description: str
    # Needed when creating; any field may be left out of a PATCH.
    required: bool = False
    nullable: bool = False
    # Only in answers (`id`), or only in requests (a credential's secret).
    read_only: bool = False
    write_only: bool = False
    # More of its JSON schema: enum, minimum, maxLength, items, ...
    extra: Mapping[str, Any] = field(default_factory=dict)

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = dict(self.extra)
        if self.type != ANY:
            schema = {"type": self.type, **schema}
        schema["description"] = self.description
        if self.nullable:
            schema["nullable"] = True
        return schema

    def problem(self, value: Any) -> str | None:
        """Why `value` is not of this field's type, or None. The objects of a
        list are only checked to be objects: `item_problems` checks their fields."""
        if self.type == ANY:
            return None
        if value is None:
            return None if self.nullable else "Must not be null."
        kind = self.type
        if kind == "string":
            return _string_problem(value, self.extra)
        if kind == "integer":
            return _integer_problem(value, self.extra)
        if kind == "boolean":
            return None if isinstance(value, bool) else "Must be true or false."
        if kind == "object":
            if not isinstance(value, dict):
                return "Must be a JSON object."
            values = self.extra.get("additionalProperties")
            strings = isinstance(values, Mapping) and values.get("type") == "string"
            if strings and not all(isinstance(item, str) for item in value.values()):
                return "Every value must be a string."
            return None
        if kind == "array":
            if not isinstance(value, list):
                return "Must be a list."
            items = self.extra["items"]
            if items.get("type") == "object":
                objects = all(isinstance(item, dict) for item in value)
                return None if objects else "Every item must be a JSON object."
            problems = [_schema_problem(item, items) for item in value]
            return next((p for p in problems if p), None)
        raise AssertionError(kind)

    def item_problems(self, name: str, value: list[Any]) -> dict[str, str]:
        """The problems of the objects of a list, field by field, named
        `<name>.<index>.<field>` (`file_contents.0.content`)."""
        items = self.extra.get("items", {})
        if self.type != "array" or items.get("type") != "object":
            return {}
        properties = items.get("properties", {})
        problems = {}
        for index, item in enumerate(value):
            for key, part in item.items():
                spec = properties.get(key)
                problem = (
                    "Unknown field." if spec is None else _schema_problem(part, spec)
                )
                if problem:
                    problems[f"{name}.{index}.{key}"] = problem
            for key in items.get("required", ()):
                if key not in item:
                    problems[f"{name}.{index}.{key}"] = "Required."
        return problems


# A field of any JSON type (a parameter's default, whose type is its own).
ANY = "any"


def _schema_problem(value: Any, schema: Mapping[str, Any]) -> str | None:
    """Why `value` does not match a field's JSON schema (the part of it the API
    uses: types, enum, lengths, bounds); None for a schema without a type."""
    kind = schema.get("type")
    if kind is None:
        return None
    if value is None:
        return None if schema.get("nullable") else "Must not be null."
    if kind == "string":
        return _string_problem(value, schema)
    if kind == "integer":
        return _integer_problem(value, schema)
    if kind == "boolean":
        return None if isinstance(value, bool) else "Must be true or false."
    if kind == "array":
        if not isinstance(value, list):
            return "Must be a list."
        if len(value) > schema.get("maxItems", len(value)):
            return f"At most {schema['maxItems']} items."
        problems = (_schema_problem(item, schema["items"]) for item in value)
        return next((p for p in problems if p), None)
    if kind == "object":
        return None if isinstance(value, dict) else "Must be a JSON object."
    raise AssertionError(kind)


def _string_problem(value: Any, limits: Mapping[str, Any]) -> str | None:
    if not isinstance(value, str):
        return "Must be a string."
    limit = limits.get("maxLength")
    if limit is not None and len(value) > limit:
        return f"Use at most {limit} characters."
    if "enum" in limits and value not in limits["enum"]:
        return "Choose one of: " + ", ".join(limits["enum"]) + "."
    return None


def object_schema(fields: Mapping[str, Field], required: list[str]) -> dict[str, Any]:
    """The JSON schema of an object nested in a field (its `extra`)."""
    return {
        "properties": {name: f.schema() for name, f in fields.items()},
        "required": required,
        "additionalProperties": False,
    }


def object_problems(
    value: Mapping[str, Any],
    fields: Mapping[str, Field],
    required: list[str],
    prefix: str,
) -> dict[str, str]:
    """The problems of an object nested in a body, named `<prefix><field>`."""
    problems = {}
    for name, item in value.items():
        spec = fields.get(name)
        problem = "Unknown field." if spec is None else spec.problem(item)
        if problem:
            problems[f"{prefix}{name}"] = problem
    for name in required:
        if name not in value:
            problems[f"{prefix}{name}"] = "Required."
    return problems


def _integer_problem(value: Any, limits: Mapping[str, Any]) -> str | None:
    if type(value) is not int:
        return "Must be a whole number."
    low, high = limits.get("minimum"), limits.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        return f"Must be from {low} to {high}."
    return None


def ids(description: str, **kwargs: Any) -> Field:
    """A list of ids of other objects."""
    item = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return Field("array", description, extra={"items": item}, **kwargs)


def ref(description: str, **kwargs: Any) -> Field:
    """The id of one other object."""
    return Field(
        "integer", description, extra={"minimum": 1, "maximum": MAX_ID}, **kwargs
    )


ID = Field(
    "integer", "Its id.", read_only=True, extra={"minimum": 1, "maximum": MAX_ID}
)
VARS = Field(
    "object", "Ansible variables, by name.", extra={"additionalProperties": True}
)

Fields = Mapping[str, Field]


def read_schema(fields: Fields) -> dict[str, Any]:
    """The object as answers hold it: every field but the write-only ones."""
    shown = {name: f for name, f in fields.items() if not f.write_only}
    return {
        "type": "object",
        "properties": {name: f.schema() for name, f in shown.items()},
        "required": list(shown),
    }


def write_schema(fields: Fields, *, create: bool) -> dict[str, Any]:
    """The body of a POST (`create`) or a PATCH: unknown fields are refused."""
    written = {name: f for name, f in fields.items() if not f.read_only}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: f.schema() for name, f in written.items()},
        "additionalProperties": False,
    }
    required = [name for name, f in written.items() if f.required]
    if create and required:
        schema["required"] = required
    return schema


def body(
    fields: Fields | None = None, *, create: bool = False, optional: bool = False
) -> dict[str, Any]:
    """The request's JSON object, its fields' types checked; 400 or 422 if not.

    With `optional`, no body at all counts as `{}` (a launch without options).
    """
    if not request.get_data(cache=True):
        if not optional:
            raise ApiError(400, "Send a JSON object as the body.")
        data: Any = {}
    else:
        data = request.get_json(silent=True)
        if data is None:
            raise ApiError(
                400, "The body must be JSON (Content-Type: application/json)."
            )
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object.")
    if fields is None:
        return data

    problems: dict[str, str] = {}
    for name, value in data.items():
        spec = fields.get(name)
        if spec is None or spec.read_only:
            problems[name] = "Unknown field."
            continue
        problem = spec.problem(value)
        if problem:
            problems[name] = problem
        else:
            problems.update(spec.item_problems(name, value))
    if create:
        for name, spec in fields.items():
            if spec.required and name not in data:
                problems[name] = "Required."
    if problems:
        raise ApiError(422, "Some fields are wrong: see fields.", problems)
    return data


def query_int(
    name: str, default: int | None, low: int = 0, high: int = MAX_ID
) -> int | None:
    """An integer query parameter within [low, high]; 400 naming it if not."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        message = f"{name} must be a whole number."
        raise ApiError(400, message, {name: "Not a number."}) from None
    if not low <= value <= high:
        raise ApiError(
            400, f"{name} must be from {low} to {high}.", {name: "Out of range."}
        )
    return value


def query_choice(name: str, choices: tuple[str, ...]) -> str:
    """One of `choices`, or "" when the parameter is left out; 400 otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return ""
    if raw not in choices:
        message = "Choose one of: " + ", ".join(choices) + "."
        raise ApiError(400, f"{name}: {message}", {name: message})
    return raw


def paging() -> tuple[int, int]:
    page = query_int("page", 1, 1, MAX_PAGE)
    per_page = query_int("per_page", PER_PAGE, 1, MAX_PER_PAGE)
    assert page is not None and per_page is not None
    return page, per_page


# Components of the OpenAPI document that every module uses.

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string", "description": "What went wrong."},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "A message per field (or query parameter) refused.",
        },
    },
    "required": ["message", "fields"],
}

PAGING_PARAMETERS = [
    {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        "description": "Which page, from 1.",
    },
    {
        "name": "per_page",
        "in": "query",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_PER_PAGE,
            "default": PER_PAGE,
        },
        "description": "Items on a page.",
    },
]


def id_parameter(name: str, what: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "description": f"The {what}'s id.",
    }


def error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
        },
    }


def json_response(description: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": dict(schema)}},
    }


def page_schema(item: str) -> dict[str, Any]:
    """A page of a list: its items in a stable order, and where it stands."""
    count = {"type": "integer", "minimum": 0}
    return {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {"$ref": f"#/components/schemas/{item}"},
            },
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "total": count,
            "pages": count,
        },
        "required": ["items", "page", "per_page", "total", "pages"],
    }


def schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def operation(
    summary: str,
    responses: Mapping[str | int, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    request: str | None = None,
    request_required: bool = True,
    tag: str,
) -> dict[str, Any]:
    """One operation, with the answers every guarded operation may give."""
    answers = {str(code): answer for code, answer in responses.items()}
    answers.setdefault("401", error_response("No token, or not a valid one."))
    answers.setdefault("403", error_response("The token's owner's role is too low."))
    if request is not None or parameters:
        answers.setdefault("400", error_response("A malformed body or parameter."))
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": answers}
    if parameters:
        op["parameters"] = parameters
    if request is not None:
        op["requestBody"] = {
            "required": request_required,
            "content": {"application/json": {"schema": schema_ref(request)}},
        }
    return op


def crud_paths(
    plural: str,
    one: str,
    title: str,
    *,
    who: str,
    search: dict[str, Any] | None = None,
    conflict: bool = False,
) -> dict[str, Any]:
    """The five operations of a kind of object: list and add, get, change, delete.

    `who` is the least role that changes them; `conflict` says a delete may be
    refused (409) while other objects use the one deleted.
    """
    key = f"{one}_id"
    tag = title + "s"
    created = json_response(f"The {one}, created.", schema_ref(title))
    created["headers"] = {
        "Location": {"schema": {"type": "string"}, "description": f"The {one}'s URL."}
    }
    unknown = error_response(f"No {one} has this id.")
    refused = error_response("A field is refused; see fields.")
    deleted: dict[str | int, Any] = {204: {"description": "Deleted."}, 404: unknown}
    if conflict:
        deleted[409] = error_response(f"Other objects use this {one}; see message.")
    return {
        f"/{plural}": {
            "get": operation(
                f"{tag}, by name",
                {200: json_response(f"A page of {plural}.", page_schema(title))},
                parameters=[*PAGING_PARAMETERS, *([search] if search else [])],
                tag=tag,
            ),
            "post": operation(
                f"Add a {one} ({who})",
                {201: created, 422: refused},
                request=f"{title}Create",
                tag=tag,
            ),
        },
        f"/{plural}/{{{key}}}": {
            "parameters": [id_parameter(key, one)],
            "get": operation(
                f"One {one}",
                {200: json_response(f"The {one}.", schema_ref(title)), 404: unknown},
                tag=tag,
            ),
            "patch": operation(
                f"Change some fields of a {one} ({who})",
                {
                    200: json_response(f"The {one}, changed.", schema_ref(title)),
                    404: unknown,
                    422: refused,
                },
                request=f"{title}Update",
                tag=tag,
            ),
            "delete": operation(f"Delete a {one} ({who})", deleted, tag=tag),
        },
    }
