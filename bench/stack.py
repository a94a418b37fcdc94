"""A Playdeck of the benchmark's own: Redis, a database, the web and workers.

The processes are the real ones, started as the Procfile starts them (gunicorn
for the web, `python worker.py` for each worker), in a temporary folder. The
benchmark process itself holds an app context on the same database, to make
rows and to read statuses the way the tests do, and talks to the web over HTTP
like a browser or a script would.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
# The tests' helpers make rows and start processes the way the tests do.
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from flask_migrate import upgrade  # noqa: E402
from honcho.environ import parse_procfile  # noqa: E402
from rq import Worker  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import create_app, tasks  # noqa: E402
from app.config import Settings  # noqa: E402
from app.embedded_redis import EmbeddedRedis  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Run  # noqa: E402
from app.models.run import TERMINAL_STATUSES  # noqa: E402
from app.queue import run_queue  # noqa: E402
from app.services import tokens  # noqa: E402

import processes  # noqa: E402
from factories import PASSWORD, Factory  # noqa: E402

PROCFILE = parse_procfile((ROOT / "Procfile").read_text()).processes
BIN = Path(sys.executable).parent

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Answer:
    status: int
    body: bytes
    # Seconds from sending the request to the last byte of the answer.
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


class Http:
    """One keep-alive HTTP connection to the web process, with its cookies."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.token = token
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self._connection: http.client.HTTPConnection | None = None

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, data: Any = None, form: bool = False) -> Answer:
        if form:
            body = urlencode(data or {}).encode()
            kind = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(data or {}).encode()
            kind = "application/json"
        return self.request("POST", path, body, {"Content-Type": kind})

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            connection = self._connect()
            start = time.perf_counter()
            try:
                connection.request(method, path, body, headers)
                response = connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionError):
                # gunicorn closed the idle keep-alive connection: open another.
                self.close()
                if attempt:
                    raise
                continue
            seconds = time.perf_counter() - start
            break
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return Answer(response.status, data, seconds)

    def login(self, username: str, password: str) -> None:
        page = self.get("/login").body.decode()
        self.csrf = _CSRF.search(page).group(1)
        answer = self.post(
            "/login",
            {"csrf_token": self.csrf, "username": username, "password": password},
            form=True,
        )
        if answer.status != 302:
            raise RuntimeError(f"login failed: {answer.status}")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=120
            )
        return self._connection


class Playdeck:
    """Redis and a migrated database in `folder`, and an app context on them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.redis = EmbeddedRedis(folder / "redis.sock").start()
        os.environ.update(
            PLAYDECK_INSTANCE_DIR=str(folder / "instance"),
            PLAYDECK_REDIS_URL=self.redis.url,
        )
        self.settings = Settings.from_env()
        self.app = create_app(self.settings)
        self.context = self.app.app_context()
        self.context.push()
        tasks.bind_app(self.app)
        upgrade()
        self.make = Factory()
        self.children: list[subprocess.Popen[bytes]] = []

    def close(self) -> None:
        """Once the processes that use them are stopped."""
        db.session.remove()
        db.engine.dispose()
        self.context.pop()
        self.redis.stop()


class Stack(Playdeck):
    """A Playdeck whose web and workers start when first asked for."""

    def __init__(self, folder: Path) -> None:
        # ansible-runner finds ansible-playbook on the PATH, for the baselines.
        os.environ["PATH"] = os.pathsep.join([str(BIN), os.environ["PATH"]])
        super().__init__(folder)
        # The table of figures is what this prints; the processes log to files.
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("app").setLevel(logging.WARNING)
        self.user = self.make.user("bench", role="admin")
        _, self.token = tokens.create_token(self.user, name="bench")
        self._web: subprocess.Popen[bytes] | None = None
        self._workers: list[subprocess.Popen[bytes]] = []
        self.port = 0

    def close(self) -> None:
        for child in reversed(self.children):
            stop(child)
        super().close()

    # -- processes ---------------------------------------------------------

    def web(self) -> int:
        """The port of the web process, started on first use."""
        if self._web is None:
            self._web, self.port = self.start_web("web")
        return self.port

    def start_web(self, name: str) -> tuple[subprocess.Popen[bytes], int]:
        port = _free_port()
        child = self.start_procfile("web", name, PLAYDECK_BIND=f"127.0.0.1:{port}")
        processes.wait_for(
            lambda: _answers(port) or child.poll() is not None, 60, "the web process"
        )
        if child.poll() is not None:
            raise RuntimeError(f"the web process exited; see {self.folder}/{name}.log")
        return child, port

    def workers(self, count: int) -> list[subprocess.Popen[bytes]]:
        """At least `count` workers listening on the queue."""
        while len(self._workers) < count:
            self._workers.append(self.start_procfile("worker", f"worker{count}"))
        processes.wait_for(
            lambda: self.listening() >= len(self._workers), 60 + 5 * count, "workers"
        )
        return self._workers[:count]

    def listening(self) -> int:
        """Workers listening on the queue now."""
        return Worker.count(queue=run_queue())

    def start_procfile(
        self, kind: str, name: str, **extra: str
    ) -> subprocess.Popen[bytes]:
        """The Procfile's command for `kind`, through a shell as honcho runs it."""
        env = processes.environment(self.settings, **extra)
        env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", os.defpath)])
        with open(self.folder / f"{name}.log", "ab") as log:
            child = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {PROCFILE[kind]}"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.children.append(child)
        return child

    # -- clients -----------------------------------------------------------

    def api(self) -> Http:
        return Http(self.web(), token=self.token)

    def browser(self) -> Http:
        """A logged-in session, as a browser holds one."""
        client = Http(self.web())
        client.login(self.user.username, PASSWORD)
        return client

    def launch(self, client: Http, job_id: int) -> int:
        answer = client.post(f"/api/v1/jobs/{job_id}/launch", {})
        if answer.status != 202:
            raise RuntimeError(f"launch answered {answer.status}: {answer.body!r}")
        return answer.json()["id"]

    # -- the database --------------------------------------------------------

    def statuses(self, run_ids: list[int]) -> dict[int, str]:
        rows = db.session.execute(
            select(Run.id, Run.status).where(Run.id.in_(run_ids))
        ).all()
        # End the read: the next one sees what the workers wrote meanwhile.
        db.session.rollback()
        return dict(rows)

    def wait_final(self, run_ids: list[int], timeout: float = 600) -> dict[int, str]:
        """Wait until every run has its terminal status in the database.

        It looks again after 1% of the time waited so far (10 ms at least): the
        time found is at most 1% late, and looking costs the machine little.
        """
        start = time.monotonic()
        while (waited := time.monotonic() - start) < timeout:
            found = self.statuses(run_ids)
            if all(found.get(run_id) in TERMINAL_STATUSES for run_id in run_ids):
                return found
            time.sleep(max(0.01, waited / 100))
        raise RuntimeError(f"runs {run_ids} did not end within {timeout} s")


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def children_of(pid: int) -> list[int]:
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and processes.parent_of(int(entry.name)) == pid
    ]


def stop(child: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM the process group, then SIGKILL what is still there."""
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        return Http(port).get("/healthz").status == 200
    except OSError:
        return False
