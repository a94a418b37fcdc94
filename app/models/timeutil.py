from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now in UTC, without tzinfo: every stored time is naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
