"""`python -m app.launcher` as a user starts it: a real Redis, gunicorn and worker."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from redis import Redis
from rq import Worker

from app import launcher
from app.config import ROOT

T = TypeVar("T")

# Every process the launcher starts inherits this variable from the test, whatever
# its parent or session: it finds them all, even those that changed parents.
TOKEN_VARIABLE = "PLAYDECK_TEST_LAUNCH_MARKER"


def _wait_for(predicate: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _processes_with(token: str, socket: Path) -> dict[int, str]:
    """Live processes the launcher started, with their command lines.

    They carry the token in their environment, except redis-server, which writes
    its process title over it: it is known by its socket on its command line.
    """
    needle = f"{TOKEN_VARIABLE}={token}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            # A zombie's environment and command line read empty: dead, not reaped.
            environ = (entry / "environ").read_bytes().split(b"\0")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if needle in environ or (str(socket) in command and "redis" in command):
            found[int(entry.name)] = command.strip()
    return found


class Launch:
    def __init__(self, instance: Path, log: Path, token: str) -> None:
        self.instance = instance
        self.log = log
        self.token = token
        self.process: subprocess.Popen[bytes] | None = None
        self.admin_password = ""

    @property
    def socket(self) -> Path:
        return self.instance / "redis.sock"

    def processes(self) -> dict[int, str]:
        return _processes_with(self.token, self.socket)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.launcher", *args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self.process

    @property
    def env(self) -> dict[str, str]:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("PLAYDECK_")
        }
        env["PLAYDECK_INSTANCE_DIR"] = str(self.instance)
        env[TOKEN_VARIABLE] = self.token
        return env


@pytest.fixture
def launch(tmp_path) -> Iterator[Launch]:
    # A short folder: the Redis socket's path must stay under 108 bytes.
    launch = Launch(tmp_path / "instance", tmp_path / "launcher.log", uuid.uuid4().hex)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=launch.env,
        check=True,
        capture_output=True,
    )
    # As `make run` does before it starts the launcher.
    admin = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "users", "ensure-admin"],
        cwd=ROOT,
        env=launch.env,
        check=True,
        capture_output=True,
        text=True,
    )
    launch.admin_password = admin.stdout.split("password:")[1].split()[0]
    yield launch

    # Whatever the test's outcome, leave nothing running.
    if launch.process is not None and launch.process.poll() is None:
        launch.process.kill()
        launch.process.wait()
    for pid in launch.processes():
        os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_serves_pages_runs_a_worker_and_stops_everything_on_sigterm(launch):
    port = _free_port()
    process = launch.start("--port", str(port))
    url = f"http://127.0.0.1:{port}/"

    page = _wait_for(lambda: _get(url, process, launch), 60, f"{url} to answer")
    assert page.status == 200
    assert page.url == f"{url}login?next=/", "nobody is logged in yet"
    page = _log_in(url, "admin", launch.admin_password)
    assert page.url == url, "after logging in, / is the dashboard"
    assert "<h1>Dashboard</h1>" in page.body
    _wait_for(lambda: f"open {url}" in launch.output(), 10, "the address to open")

    with Redis(unix_socket_path=str(launch.socket)) as redis:
        workers = _wait_for(
            lambda: Worker.all(connection=redis), 60, "a worker to register"
        )
    assert len(workers) == 1

    running = launch.processes()
    commands = " | ".join(running.values())
    for expected in ("redis-server", "gunicorn", "worker.py", "app.maintenance"):
        assert expected in commands, f"{expected} runs: {running}"

    process.send_signal(signal.SIGTERM)

    stopped = time.monotonic()
    process.wait(timeout=20)
    assert process.returncode == 0, launch.output()
    remaining = 20 - (time.monotonic() - stopped)
    _wait_for(lambda: not launch.processes(), remaining, "every process to end")
    assert not launch.socket.exists(), "the Redis socket is removed"


@pytest.mark.slow
def test_a_stop_during_a_run_leaves_no_process(launch, monkeypatch):
    """The run's work-horse and ansible leave the worker's process group."""
    port = _free_port()
    process = launch.start("--port", str(port))
    with Redis(unix_socket_path=str(launch.socket)) as redis:
        _wait_for(lambda: Worker.all(connection=redis), 60, "a worker to register")

    run_id = _launch_a_sleeping_run(launch, monkeypatch)
    _wait_for(
        lambda: any("sleep 300" in c for c in launch.processes().values()),
        60,
        f"run {run_id} to execute its command",
    )

    process.send_signal(signal.SIGTERM)

    stopped = time.monotonic()
    process.wait(timeout=20)
    assert process.returncode == 0, launch.output()
    remaining = 20 - (time.monotonic() - stopped)
    _wait_for(lambda: not launch.processes(), remaining, "every process to end")
    # The worker, asked to stop, ended its run rather than leave it `running`.
    status, reason = _run_status(launch, monkeypatch, run_id)
    assert status == "canceled", reason
    assert "shut down" in reason


def _launch_a_sleeping_run(launch: Launch, monkeypatch) -> int:
    """Queue a run of `sleep 300` on localhost in the launcher's database."""
    from app.extensions import db
    from app.services import runs

    from factories import Factory

    with _launcher_app(launch, monkeypatch).app_context():
        run = runs.launch(Factory().job(module="command", args="sleep 300"))
        run_id = run.id
        db.session.remove()
        db.engine.dispose()
    return run_id


def _run_status(launch: Launch, monkeypatch, run_id: int) -> tuple[str, str]:
    from app.extensions import db
    from app.models import Run

    with _launcher_app(launch, monkeypatch).app_context():
        run = db.session.get(Run, run_id)
        status, reason = run.status, run.error
        db.session.remove()
        db.engine.dispose()
    return status, reason


def _launcher_app(launch: Launch, monkeypatch):
    """The app on the launcher's instance folder, for a look into its database."""
    from app import create_app
    from app.config import Settings

    monkeypatch.setenv("PLAYDECK_INSTANCE_DIR", str(launch.instance))
    monkeypatch.setenv("PLAYDECK_REDIS_URL", f"unix://{launch.socket}")
    return create_app(Settings.from_env())


@pytest.mark.slow
def test_a_process_that_dies_at_start_stops_everything_and_fails(launch, tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("web: exit 3\nworker: sleep 60\n")

    process = launch.start("--port", str(_free_port()), "--procfile", str(procfile))

    assert process.wait(timeout=30) == 3, launch.output()
    assert not launch.processes()
    assert not launch.socket.exists()


@pytest.mark.slow
def test_refuses_to_start_beside_a_running_instance(launch, tmp_path):
    """A second launcher on the same instance folder must not take its Redis."""
    from app.embedded_redis import EmbeddedRedis

    with EmbeddedRedis(launch.socket) as first:
        process = launch.start("--port", str(_free_port()))
        assert process.wait(timeout=30) == 1
        assert "already running" in launch.output()
        with Redis.from_url(first.url) as redis:
            assert redis.ping(), "the first instance's Redis is untouched"


def _get(url: str, process: subprocess.Popen[bytes], launch: Launch):
    if process.poll() is not None:
        raise AssertionError(
            f"the launcher ended with {process.returncode}:\n{launch.output()}"
        )
    # Straight to localhost, whatever proxy the environment names.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            response.read()
            return response
    except OSError:
        return None


def _log_in(url: str, username: str, password: str):
    """Log in through the login form, as the first admin would."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor()
    )
    with opener.open(f"{url}login?next=/", timeout=5) as response:
        form = response.read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert token, "the login form carries a CSRF token"
    data = urllib.parse.urlencode(
        {"csrf_token": token[1], "username": username, "password": password}
    )
    with opener.open(f"{url}login?next=/", data=data.encode(), timeout=5) as page:
        page.body = page.read().decode()
        return page


def test_bind_address_and_url():
    assert launcher.bind_address("127.0.0.1", 5000) == "127.0.0.1:5000"
    assert launcher.bind_address("::1", 8000) == "[::1]:8000"
    assert launcher.browser_url("0.0.0.0", 5000) == "http://127.0.0.1:5000/"
    assert launcher.browser_url("::", 5000) == "http://[::1]:5000/"


def test_children_find_this_environment_and_redis(tmp_path):
    env = launcher.child_environment(
        {"PATH": "/usr/bin"}, "unix:///tmp/r.sock", "127.0.0.1:5001", "abc"
    )

    assert env["PLAYDECK_REDIS_URL"] == "unix:///tmp/r.sock"
    assert env["PLAYDECK_BIND"] == "127.0.0.1:5001"
    assert env[launcher.MARKER_VARIABLE] == "abc"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)


def test_a_configured_redis_url_is_left_alone():
    env = launcher.child_environment(
        {"PLAYDECK_REDIS_URL": "redis://elsewhere:6379/0"}, None, "h:1", "abc"
    )

    assert env["PLAYDECK_REDIS_URL"] == "redis://elsewhere:6379/0"
