"""ANSI colour codes (SGR) in ansible's output, turned into safe HTML.

Text is escaped first; only `<span class="...">` elements of our own are added, so
whatever a task prints, a `<script>` included, shows as text.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_SGR = re.compile(r"\x1b\[([0-9;]*)m")
# Any other escape sequence (cursor moves and the like) is dropped.
_OTHER_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-ln-z]|\x1b[()][0-9A-Za-z]|\r")

_COLOURS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")


def _classes(codes: list[int], state: dict[str, str]) -> None:
    codes = list(codes)
    while codes:
        code = codes.pop(0)
        if code in (38, 48):
            # 256-colour and true-colour forms take 2 or 4 more numbers; not shown.
            del codes[: 2 if codes[:1] == [5] else 4]
        elif code == 0:
            state.clear()
        elif code == 1:
            state["weight"] = "ansi-bold"
        elif code == 22:
            state.pop("weight", None)
        elif 30 <= code <= 37:
            state["fg"] = f"ansi-{_COLOURS[code - 30]}"
        elif 90 <= code <= 97:
            state["fg"] = f"ansi-bright-{_COLOURS[code - 90]}"
        elif code == 39:
            state.pop("fg", None)
        elif 40 <= code <= 47:
            state["bg"] = f"ansi-bg-{_COLOURS[code - 40]}"
        elif code == 49:
            state.pop("bg", None)


def ansi_to_html(text: str) -> Markup:
    text = _OTHER_ESCAPES.sub("", text)
    out: list[str] = []
    state: dict[str, str] = {}
    position = 0
    for match in _SGR.finditer(text):
        out.append(_span(text[position : match.start()], state))
        codes = [int(part) for part in match.group(1).split(";") if part.isdigit()]
        _classes(codes or [0], state)
        position = match.end()
    out.append(_span(text[position:], state))
    return Markup("".join(out))


def _span(chunk: str, state: dict[str, str]) -> str:
    if not chunk:
        return ""
    escaped = str(escape(chunk))
    if not state:
        return escaped
    classes = " ".join(sorted(state.values()))
    return f'<span class="{classes}">{escaped}</span>'


def plain(text: str) -> str:
    """The text without any escape sequence: what a terminal shows, uncoloured."""
    return _OTHER_ESCAPES.sub("", _SGR.sub("", text))
