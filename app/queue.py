"""The Redis connection and the RQ queue that carries runs to workers."""

from __future__ import annotations

from functools import cache

from flask import current_app
from redis import Redis
from rq import Queue

from app.config import Settings


def settings() -> Settings:
    return current_app.config["PLAYDECK"]


@cache
def _connect(url: str) -> Redis:
    return Redis.from_url(url)


def redis_connection() -> Redis:
    return _connect(settings().redis_url)


def run_queue() -> Queue:
    return Queue(settings().queue_name, connection=redis_connection())


def cancel_key(run_id: int) -> str:
    """Redis key whose presence asks a running run to stop."""
    return f"playdeck:cancel:{run_id}"
