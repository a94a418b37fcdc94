"""Real parts for every test: a Redis server, a database migrated for real, and
ansible against localhost.

- `app` is a Playdeck app on a fresh database (SQLite; tests marked
  `all_databases` also run on the PostgreSQL of PLAYDECK_TEST_DATABASE_URL).
- `client` is its test client, logged in as an admin (`anon_client` is not
  logged in; `helpers.login(client, role)` logs one in); `helpers.csrf_token(client)`
  gives the token forms need.
- `run_worker()` executes everything queued with a real RQ worker (burst).
- `make` builds rows: `make.host()`, `make.job()`, ...
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask_migrate import upgrade
from rq import Worker
from sqlalchemy import create_engine, make_url, text
from werkzeug.serving import make_server

from app import create_app, tasks
from app.config import Settings
from app.embedded_redis import EmbeddedRedis
from app.extensions import db
from app.queue import redis_connection, run_queue

import processes
import sshd
from factories import Factory
from helpers import login

PG_URL = os.environ.get("PLAYDECK_TEST_DATABASE_URL", "")
ROOT = Path(__file__).resolve().parent.parent


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        backends = ["sqlite"]
        if PG_URL and metafunc.definition.get_closest_marker("all_databases"):
            backends.append("postgresql")
        metafunc.parametrize("backend", backends, scope="session")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis") / "redis.sock")
    with server:
        yield server


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory):
    """A real sshd on 127.0.0.1; missing sshd fails in CI and skips elsewhere."""
    missing = sshd.available()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the SSH tests need an sshd: {missing}")
        pytest.skip(f"no sshd here: {missing}")
    server = sshd.start(tmp_path_factory.mktemp("sshd"))
    yield server
    sshd.stop(server)


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    """A database migrated to the newest schema, once per backend."""
    if backend == "postgresql":
        with _private_postgres_database(PG_URL) as url:
            yield _migrated(url, tmp_path_factory)
    else:
        path = tmp_path_factory.mktemp("db") / "playdeck.sqlite3"
        yield _migrated(f"sqlite:///{path}", tmp_path_factory)


@contextmanager
def _private_postgres_database(url: str):
    """A database of this test session's own beside the one the URL names.

    Two sessions (a developer's and CI, say) never share tables that way.
    """
    server = make_url(url)
    name = f"{server.database}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrated(url: str, tmp_path_factory) -> str:
    app = create_app(_settings(tmp_path_factory.mktemp("instance"), url, ""))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def _settings(instance: Path, database_url: str, redis_url: str) -> Settings:
    return Settings(
        instance_dir=instance,
        database_url=database_url,
        redis_url=redis_url,
        redis_embedded=False,
        secret_key="test-secret-key-not-for-production",
        data_dir=instance / "runs",
        stop_grace=2.0,
        default_timeout=120,
    )


@pytest.fixture
def settings(tmp_path, database_url, redis_server) -> Settings:
    return _settings(tmp_path / "instance", database_url, redis_server.url)


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    tasks.bind_app(app)
    with app.app_context():
        redis_connection().flushdb()
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


def _empty_tables() -> None:
    tables = [table.name for table in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def client(app):
    """A test client logged in as an admin, who may do anything."""
    client = app.test_client()
    login(client, "admin", "admin")
    return client


@pytest.fixture
def anon_client(app):
    """A test client nobody logged in with."""
    return app.test_client()


@pytest.fixture
def make(app) -> Factory:
    return Factory()


@pytest.fixture
def worker_process(settings, tmp_path):
    """`python worker.py` as users start it, on the test's database and Redis."""
    env = dict(
        os.environ,
        PLAYDECK_INSTANCE_DIR=str(settings.instance_dir),
        PLAYDECK_DATABASE_URL=settings.database_url,
        PLAYDECK_REDIS_URL=settings.redis_url,
        PLAYDECK_SECRET_KEY=settings.secret_key,
        PLAYDECK_STOP_GRACE=str(settings.stop_grace),
    )
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "worker.py"], cwd=ROOT, env=env, stderr=log
        )
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


@pytest.fixture
def worker_processes(settings, tmp_path):
    """`start(n)` starts n more `python worker.py` and waits until they listen."""
    started: list[subprocess.Popen[bytes]] = []

    def start(count: int) -> list[subprocess.Popen[bytes]]:
        for _ in range(count):
            log = tmp_path / f"worker{len(started)}.log"
            started.append(processes.start(settings, ["worker.py"], log))
        processes.wait_for(
            lambda: Worker.count(queue=run_queue()) >= len(started),
            30 + 5 * count,
            f"{len(started)} workers to listen",
        )
        return started[-count:]

    yield start
    for worker in started:
        processes.stop(worker)


@pytest.fixture
def scheduler_process(settings, tmp_path):
    """`python -m app.maintenance`, reconciling every second."""
    scheduler = processes.start(
        settings,
        ["-m", "app.maintenance"],
        tmp_path / "scheduler.log",
        PLAYDECK_RECONCILE_INTERVAL="1",
    )
    yield scheduler
    processes.stop(scheduler)


@pytest.fixture
def run_worker(app):
    """Execute every queued run with a real RQ worker, forking a work-horse each."""

    def work() -> None:
        worker = Worker(
            [run_queue()],
            connection=redis_connection(),
            work_horse_killed_handler=tasks.on_horse_killed,
        )
        worker.work(burst=True)
        db.session.expire_all()

    return work


CHROMIUM = "/usr/bin/chromium"
# Chromium's own network chatter is refused on these machines; keep it quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(app):
    """The test app served over HTTP on 127.0.0.1, for a real browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser is downloaded)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests need {CHROMIUM} (Debian package chromium)")
        pytest.skip(f"no {CHROMIUM} here")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser tab whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()
