from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now in UTC, without tzinfo: every stored time is naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def utc_text(value: datetime) -> str:
    """A stored UTC time as the pages and the logs show it, to the second."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")
