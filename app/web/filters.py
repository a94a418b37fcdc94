"""Template filters shared by every page."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from app.ansi import ansi_to_html


def when(value: datetime | None) -> str:
    """A stored UTC time, shown in UTC to the second."""
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


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


def register_filters(app: Flask) -> None:
    app.add_template_filter(when)
    app.add_template_filter(seconds)
    app.add_template_filter(ansi_to_html, "ansi")
