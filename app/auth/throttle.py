"""Slowing down password guessing: a lockout that grows with each failed login.

Failed logins are counted in Redis per user name and per client address, each
over a window of `WINDOW` seconds. Past `USER_LIMIT` failures for one name (or
`ADDRESS_LIMIT` from one address) that name (or address) is locked for
`FIRST_LOCK` seconds, doubling with each further failure up to `MAX_LOCK`. While
locked, logins are refused before the password is even checked. A successful
login clears the name's count; the address's count runs out with its window.

If Redis does not answer, logins are not slowed (and a warning is logged): a
Playdeck without Redis cannot run anything, but its people can still log in.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from redis.exceptions import RedisError

from app.queue import redis_connection

log = logging.getLogger(__name__)

# Seconds over which failures add up.
WINDOW = 15 * 60
# Failures allowed before a lock: for one user name, and from one address (higher,
# since a team may share one address behind NAT).
USER_LIMIT = 5
ADDRESS_LIMIT = 20
# Seconds of the first lock, and of the longest one.
FIRST_LOCK = 30
MAX_LOCK = 15 * 60

_PREFIX = "playdeck:login"


@dataclass(frozen=True)
class Lock:
    """A refusal: what is locked ("user" or "address") and for how many seconds."""

    scope: str
    seconds: int


def locked(username: str, address: str) -> Lock | None:
    """The lock that refuses this login now, if any."""
    try:
        redis = redis_connection()
        for scope, key in _keys(username, address):
            ttl = redis.ttl(f"{_PREFIX}:lock:{scope}:{key}")
            if ttl and ttl > 0:
                return Lock(scope, int(ttl))
    except RedisError as exc:
        log.warning("login throttling unavailable: %s", exc)
    return None


def failed(username: str, address: str) -> None:
    """Count a failed login; lock the name or address once past its limit."""
    limits = {"user": USER_LIMIT, "address": ADDRESS_LIMIT}
    try:
        redis = redis_connection()
        for scope, key in _keys(username, address):
            counter = f"{_PREFIX}:fail:{scope}:{key}"
            count = redis.incr(counter)
            redis.expire(counter, WINDOW)
            over = count - limits[scope]
            if over >= 0:
                seconds = min(FIRST_LOCK * 2**over, MAX_LOCK)
                redis.set(f"{_PREFIX}:lock:{scope}:{key}", "1", ex=seconds)
                log.warning(
                    "login locked scope=%s failures=%s seconds=%s",
                    scope,
                    count,
                    seconds,
                )
    except RedisError as exc:
        log.warning("login throttling unavailable: %s", exc)


def succeeded(username: str) -> None:
    """Forget the failures of a name once its owner logged in."""
    try:
        key = _digest(username)
        redis_connection().delete(
            f"{_PREFIX}:fail:user:{key}", f"{_PREFIX}:lock:user:{key}"
        )
    except RedisError as exc:
        log.warning("login throttling unavailable: %s", exc)


def _keys(username: str, address: str) -> list[tuple[str, str]]:
    return [("user", _digest(username)), ("address", _digest(address))]


def _digest(value: str) -> str:
    # Names typed at the login form may be anything, passwords typed in the wrong
    # field included: Redis keeps only a digest of them.
    return hashlib.sha256((value or "").strip().lower().encode()).hexdigest()[:32]
