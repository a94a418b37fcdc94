"""Start all of Playdeck with one command: the Procfile's processes, and Redis.

    python -m app.launcher [--port 5000] [--host 127.0.0.1] [--workers N]

When PLAYDECK_REDIS_URL is unset, a Redis server of our own listens on the
instance folder's socket for as long as the launcher runs. The Procfile's
processes run under honcho, which prefixes their output with their name and
stops them all as soon as one of them ends. Ctrl-C or SIGTERM stops the
processes first, then Redis: a worker still needs Redis while it shuts down.

A process that ends on its own, at start or later, ends the launcher with a
non-zero status. A stop asked for by a signal ends it with status 0.

A run in progress when Playdeck stops ends `canceled`: its worker, asked to
stop, writes that at once ("canceled by worker shutdown") and has ansible stop
as a cancel does. honcho kills the worker 5 s later and the launcher then kills
whatever is left of the run (its work-horse and ansible). Runs still waiting in
the embedded Redis's queue are lost with it; when Playdeck starts again the
`scheduler` process finds them and queues them again, once.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from honcho.environ import expand_processes, parse_procfile
from honcho.manager import Manager
from redis import Redis
from redis.exceptions import RedisError

from app.config import ROOT, Settings
from app.embedded_redis import EmbeddedRedis, RedisUnavailable
from app.processes import marked_processes, signal_all

log = logging.getLogger(__name__)

PROCFILE = ROOT / "Procfile"

# Every process the launcher starts carries this variable, with a value of its
# own, in its environment. Children of children inherit it whatever their session
# or parent, so whatever survives honcho's stop (a work-horse runs in its own
# process group) is still found and stopped.
MARKER_VARIABLE = "PLAYDECK_LAUNCHER_MARKER"

# honcho's exit statuses after it stopped everything on SIGINT or SIGTERM.
_STOPPED_BY_SIGNAL = (130, 143)

# Seconds the leftovers get between SIGTERM and SIGKILL.
_LEFTOVER_GRACE = 3.0
# Seconds the web process gets to answer its first request before a warning.
_READY_TIMEOUT = 60.0


class StopRequested(Exception):
    """SIGINT or SIGTERM arrived before honcho took the signals over."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m app.launcher",
        description="Start Playdeck: the web server, the workers and, when "
        "PLAYDECK_REDIS_URL is unset, a Redis server of its own.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address the web server listens on"
    )
    parser.add_argument(
        "--port", type=int, default=5000, help="port the web server listens on"
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="worker processes, that is runs executed at once (default 1)",
    )
    parser.add_argument(
        "--procfile", type=Path, default=PROCFILE, help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def bind_address(host: str, port: int) -> str:
    """The `host:port` gunicorn binds, with IPv6 addresses in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def browser_url(host: str, port: int) -> str:
    """The address to open: a wildcard bind is reached through the loopback."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://{bind_address(host, port)}/"


def child_environment(
    base: Mapping[str, str], redis_url: str | None, bind: str, marker: str
) -> dict[str, str]:
    env = dict(base)
    if redis_url:
        env["PLAYDECK_REDIS_URL"] = redis_url
    env["PLAYDECK_BIND"] = bind
    env[MARKER_VARIABLE] = marker
    # The Procfile names `gunicorn` and `python`: they must be this environment's
    # even when the launcher was started as .venv/bin/python without activation.
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", os.defpath)])
    # Output goes through a pipe to honcho; unbuffered, it shows up as it happens.
    env["PYTHONUNBUFFERED"] = "1"
    return env


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s launcher | %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stdout,
    )
    # Read once here, before any child starts: on a first start this writes the
    # secret key, which the web and worker processes would otherwise race to create.
    settings = Settings.from_env()

    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    # A closed terminal stops Playdeck the way Ctrl-C does.
    signal.signal(signal.SIGHUP, lambda *_: os.kill(os.getpid(), signal.SIGTERM))

    marker = secrets.token_hex(8)
    redis: EmbeddedRedis | None = None
    try:
        redis_url = None
        if settings.redis_embedded:
            socket = Path(settings.redis_url.removeprefix("unix://"))
            _refuse_a_second_instance(socket)
            redis = EmbeddedRedis(socket)
            redis.start()
            redis_url = redis.url
            log.info("Redis started on %s (pid %s)", redis.socket, redis.process.pid)

        env = child_environment(
            os.environ, redis_url, bind_address(options.host, options.port), marker
        )
        manager = _manager(options.procfile, env, options.workers, marker)
        with _announce_when_ready(browser_url(options.host, options.port)):
            manager.loop()
        return _exit_status(manager.returncode)
    except StopRequested:
        log.info("stopped before the processes started")
        return 0
    except RedisUnavailable as error:
        log.error("cannot start Redis: %s", error)
        return 1
    finally:
        _stop_leftovers(marker)
        if redis is not None:
            redis.stop()
            log.info("Redis stopped")


def _raise_stop(signum: int, _frame: object) -> None:
    raise StopRequested(signal.Signals(signum).name)


def _refuse_a_second_instance(socket: Path) -> None:
    """Starting Redis replaces the socket: never take it from a running Playdeck."""
    if not socket.exists():
        return
    client = Redis(unix_socket_path=str(socket), socket_timeout=1)
    with contextlib.suppress(OSError, RedisError), client:
        client.ping()
        raise RedisUnavailable(
            f"a Redis server already answers on {socket}: is Playdeck already "
            "running on this instance folder?"
        )


class _Manager(Manager):
    """honcho's Manager, whose last resort also reaches processes out of its groups.

    honcho stops a process by signalling its process group. RQ executes each run in
    a work-horse with a process group of its own, and ansible's processes call
    setsid: they outlive the worker's group, keep the worker's output pipe open, and
    honcho would wait on that pipe for ever.
    """

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker

    def kill(self) -> None:
        super().kill()
        signal_all(marked_processes(MARKER_VARIABLE, self.marker), signal.SIGKILL)


def _manager(procfile: Path, env: dict[str, str], workers: int, marker: str) -> Manager:
    processes = parse_procfile(procfile.read_text()).processes
    if not processes:
        raise SystemExit(f"{procfile} names no process")

    manager = _Manager(marker)
    for params in expand_processes(processes, concurrency={"worker": workers}, env=env):
        manager.add_process(params.name, params.cmd, env=params.env, cwd=str(ROOT))
    return manager


def _exit_status(returncode: int | None) -> int:
    if returncode in _STOPPED_BY_SIGNAL:
        return 0
    # Whatever a process ended with, even 0, it was not asked to end.
    log.error(
        "a process ended on its own (status %s); everything was stopped", returncode
    )
    if returncode is None or returncode == 0:
        return 1
    return 128 - returncode if returncode < 0 else returncode


@contextlib.contextmanager
def _announce_when_ready(url: str) -> Iterator[None]:
    """Say which address to open once the web process answers it."""
    done = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + _READY_TIMEOUT
        while not done.wait(0.25):
            if _answers(url):
                log.info("Playdeck is ready: open %s", url)
                return
            if time.monotonic() > deadline:
                log.warning("the web process did not answer %s yet", url)
                return

    thread = threading.Thread(target=watch, name="ready", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _answers(url: str) -> bool:
    host_port = url.removeprefix("http://").rstrip("/")
    connection = http.client.HTTPConnection(host_port, timeout=2)
    try:
        connection.request("GET", "/")
        connection.getresponse()
    except OSError:
        return False
    finally:
        connection.close()
    return True


def _stop_leftovers(marker: str) -> None:
    """Stop any process of ours that honcho's stop left behind."""
    left = marked_processes(MARKER_VARIABLE, marker)
    if not left:
        return
    log.warning("stopping %s process(es) left behind: %s", len(left), left)
    signal_all(left, signal.SIGTERM)

    deadline = time.monotonic() + _LEFTOVER_GRACE
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = marked_processes(MARKER_VARIABLE, marker)
    signal_all(left, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
