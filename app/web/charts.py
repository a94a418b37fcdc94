"""Small charts for the dashboard, drawn here as SVG: no script, no library.

Each chart is an `<svg role="img">` whose label says in words what it draws, and
whose parts carry a `<title>` (the browser shows it on hover). Colours come from
classes in static/app.css: the Content-Security-Policy allows no inline style.
Every text is escaped by the template engine's `Markup.format`.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from app.models import RunStatus
from app.services.dashboard import Day
from app.web.filters import seconds

_SVG = Markup(
    '<svg class="chart {}" role="img" aria-label="{}" viewBox="0 0 {} {}" '
    'width="{}" height="{}" preserveAspectRatio="none">{}</svg>'
)
_RECT = Markup(
    '<rect class="{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}">'
    "<title>{}</title></rect>"
)


def _svg(kind: str, label: str, width: int, height: int, parts: list[Markup]) -> Markup:
    return _SVG.format(
        kind, label, width, height, width, height, Markup("").join(parts)
    )


def status_bar(counts: dict[str, int], width: int = 320, height: int = 18) -> Markup:
    """One bar split by status, each part as long as its share of the runs."""
    total = sum(counts.values())
    said = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    if not total:
        return _svg("status-bar", "no run", width, height, [_empty(width, height)])
    parts, x = [], 0.0
    for status in RunStatus:
        count = counts.get(status, 0)
        if not count:
            continue
        part = width * count / total
        parts.append(
            _RECT.format(f"fill-{status}", x, 0, part, height, f"{count} {status}")
        )
        x += part
    return _svg("status-bar", said, width, height, parts)


def _empty(width: int, height: int) -> Markup:
    return _RECT.format("fill-none", 0, 0, width, height, "no run")


def day_bars(
    days: Sequence[Day], bar: int = 9, gap: int = 3, height: int = 36
) -> Markup:
    """A bar a day, as tall as the day's runs; its successful part green, its
    failed part red, the rest (canceled, still running) grey.
    """
    width = len(days) * (bar + gap)
    most = max((day.runs for day in days), default=0) or 1
    parts = []
    for index, day in enumerate(days):
        x = index * (bar + gap)
        words = f"{day.day:%a %d %b}: " + _runs_words(day)
        if not day.runs:
            parts.append(_RECT.format("fill-none", x, height - 1, bar, 1, words))
            continue
        bottom = float(height)
        other = day.runs - day.successful - day.unsuccessful
        for count, kind in (
            (day.successful, "fill-successful"),
            (day.unsuccessful, "fill-failed"),
            (other, "fill-other"),
        ):
            if count:
                tall = height * count / most
                bottom -= tall
                parts.append(_RECT.format(kind, x, bottom, bar, tall, words))
    total = sum(day.runs for day in days)
    label = f"runs a day over {len(days)} days: {total} in all"
    return _svg("day-bars", label, width, height, parts)


def _runs_words(day: Day) -> str:
    if not day.runs:
        return "no run"
    words = f"{day.runs} run{'s' if day.runs != 1 else ''}"
    words += f", {day.successful} successful"
    if day.unsuccessful:
        words += f", {day.unsuccessful} failed"
    return words


def duration_line(
    days: Sequence[Day], step: int = 12, height: int = 36, dot: float = 2.2
) -> Markup:
    """The mean duration of each day's finished runs, as dots joined by lines;
    days without a finished run leave a gap.
    """
    width = len(days) * step
    longest = max((day.mean_seconds or 0 for day in days), default=0) or 1.0
    top = dot + 1

    segments: list[list[tuple[float, float, Day]]] = [[]]
    for index, day in enumerate(days):
        if day.mean_seconds is None:
            segments.append([])
            continue
        x = index * step + step / 2
        y = top + (height - 2 * top) * (1 - day.mean_seconds / longest)
        segments[-1].append((x, y, day))

    parts = [
        _LINE.format(" ".join(f"{x:.1f},{y:.1f}" for x, y, _ in segment))
        for segment in segments
        if len(segment) > 1
    ]
    parts += [
        _DOT.format(x, y, dot, f"{day.day:%a %d %b}: {seconds(day.mean_seconds)}")
        for segment in segments
        for x, y, day in segment
    ]
    shown = [day.mean_seconds for day in days if day.mean_seconds is not None]
    label = "no finished run"
    if shown:
        label = (
            f"mean duration a day, from {seconds(min(shown))} to {seconds(max(shown))}"
        )
    return _svg("duration-line", label, width, height, parts)


_LINE = Markup('<polyline class="line" points="{}"/>')
_DOT = Markup(
    '<circle class="dot" cx="{:.1f}" cy="{:.1f}" r="{}"><title>{}</title></circle>'
)
