"""Template filters shared by every page."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask
from flask_login import current_user
from markupsafe import Markup

from app.ansi import ansi_to_html, plain
from app.queue import settings
from app.validation import error_line

# How a line of a unified diff starts -> the class that colours it.
_DIFF_CLASSES = (
    ("+++", "diff-file"),
    ("---", "diff-file"),
    ("@@", "diff-hunk"),
    ("+", "diff-add"),
    ("-", "diff-del"),
    ("\\", "diff-note"),
)


def user_zone() -> ZoneInfo:
    """The zone pages show times in: the user's own choice, else Playdeck's
    (`PLAYDECK_TIMEZONE`). A name that no longer exists here falls back to UTC.
    """
    name = ""
    if current_user and current_user.is_authenticated:
        name = current_user.timezone or ""
    try:
        return ZoneInfo(name or settings().timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def utc_offset_minutes(now: datetime) -> int:
    """How far ahead of UTC the user's zone is at `now` (naive UTC)."""
    offset = now.replace(tzinfo=UTC).astimezone(user_zone()).utcoffset()
    return int(offset.total_seconds() // 60) if offset else 0


def when(value: datetime | None) -> Markup | str:
    """A stored UTC time in the user's zone, to the second; UTC on hover."""
    if value is None:
        return "—"
    utc = value.replace(tzinfo=UTC)
    local = utc.astimezone(user_zone())
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        utc.strftime("%Y-%m-%d %H:%M:%S UTC"),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
    )


def iso_utc(value: datetime | None) -> str:
    """A stored UTC time for a machine (static/app.js reads it): ISO 8601, Z."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(value: float | None) -> str:
    """A duration as people read it: 4.2 s, 3 min 5 s, 1 h 2 min."""
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def percent(value: float | None) -> str:
    """A share (0 to 1) as a whole percentage; "—" when there is none."""
    if value is None:
        return "—"
    return f"{round(value * 100)} %"


_LINE = Markup('<span class="line" id="line-{}" data-seq="{}"{}>{}\n</span>')
_HOST = Markup(' data-host="{}"')


def log_lines(events: Iterable[Any]) -> Markup:
    """The log lines of some events (`runs.LINE_COLUMNS`), escaped and coloured.

    An event's stdout may hold several lines; each event is a `.line` numbered by
    its sequence (CSS draws the number, so copying the log leaves it out) that
    `#line-<seq>` links to. Blank lines an event starts with (ansible starts each
    TASK banner with one) go before it, so the number stands beside the text.
    Written here rather than as a template macro: a page holds thousands.
    """
    out = []
    for event in events:
        stdout = event.stdout
        if not stdout:
            continue
        text = stdout.lstrip("\n")
        host = _HOST.format(event.host) if event.host else ""
        out.append("\n" * (len(stdout) - len(text)))
        out.append(_LINE.format(event.seq, event.seq, host, ansi_to_html(text)))
    return Markup("".join(out))


def laid_out(detail: str | None) -> str:
    """A task's result text for a person: JSON indented, anything else as it is."""
    if not detail or detail[:1] not in "{[":
        return detail or ""
    try:
        return json.dumps(json.loads(detail), indent=2, ensure_ascii=False)
    except ValueError:
        return detail  # cut short by the sink: no longer JSON


def diff_lines(text: str) -> list[tuple[str, str]]:
    """A diff as ansible printed it, line by line with the class of each:
    added, removed, a hunk's header, a file's name, or context."""
    lines = []
    for line in plain(text).split("\n"):
        kind = next(
            (cls for start, cls in _DIFF_CLASSES if line.startswith(start)),
            "diff-context",
        )
        lines.append((kind, line))
    while lines and not lines[-1][1].strip():
        lines.pop()
    return lines


def register_filters(app: Flask) -> None:
    app.add_template_filter(when)
    app.add_template_filter(iso_utc)
    app.add_template_filter(seconds)
    app.add_template_filter(percent)
    app.add_template_filter(ansi_to_html, "ansi")
    app.add_template_filter(error_line)
    app.add_template_filter(laid_out)
    app.add_template_global(log_lines)
    app.add_template_filter(diff_lines)
