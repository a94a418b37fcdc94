"""Stored times: naive UTC everywhere, and SQL that reckons with them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, String, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


def utcnow() -> datetime:
    """Now in UTC, without tzinfo: every stored time is naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def utc_text(value: datetime) -> str:
    """A stored UTC time as the pages and the logs show it, to the second."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


class seconds_between(FunctionElement):
    """SQL: seconds from one stored time to another, as a float, on every database."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


def local_day(value: Any, minutes: int) -> day_of:
    """SQL: the day (`YYYY-MM-DD` text) of a stored UTC time, `minutes` ahead of UTC.

    Takes the offset of a time zone, so that days are the reader's days. One
    offset for the whole span: across a change of daylight saving time, runs
    within an hour of midnight may count for the day beside theirs. The offset
    is written into the SQL (an int, never text from a user) so that the same
    expression in SELECT and GROUP BY is the same to PostgreSQL.
    """
    return day_of(value, literal_column(str(int(minutes))))


class day_of(FunctionElement):
    """See `local_day`."""

    type = String()
    inherit_cache = True


@compiles(day_of, "sqlite")
def _day_sqlite(element, compiler, **kw):
    value, minutes = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"date({value}, ({minutes}) || ' minutes')"


@compiles(day_of, "postgresql")
def _day_postgresql(element, compiler, **kw):
    value, minutes = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"to_char({value} + make_interval(mins => {minutes}), 'YYYY-MM-DD')"
