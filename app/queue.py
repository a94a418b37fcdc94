"""The Redis connection and the RQ queue that carries runs to workers."""

from __future__ import annotations

from functools import cache

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from app.config import Settings


def settings() -> Settings:
    return current_app.config["PLAYDECK"]


# Seconds to wait for Redis to accept a connection: a page or a check must not
# hang on a Redis that is down. (No timeout on reads: RQ's workers block on them.)
_CONNECT_TIMEOUT = 5


@cache
def _connect(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=_CONNECT_TIMEOUT)


def redis_connection() -> Redis:
    return _connect(settings().redis_url)


def run_queue() -> Queue:
    return Queue(settings().queue_name, connection=redis_connection())


def redis_answers() -> bool:
    """Whether Redis answers a ping now."""
    try:
        return bool(redis_connection().ping())
    except (RedisError, OSError):
        return False


def cancel_key(run_id: int) -> str:
    """Redis key whose presence asks a running run to stop."""
    return f"playdeck:cancel:{run_id}"


def heartbeat_key(run_id: int) -> str:
    """Redis key a running run keeps alive while its worker lives."""
    return f"playdeck:heartbeat:{run_id}"
