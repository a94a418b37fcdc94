"""Playdeck: define Ansible jobs, run them on your hosts, watch them live."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import ROOT, Settings
from app.extensions import csrf, db, migrate


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(settings.instance_dir),
    )
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    app.config.update(
        PLAYDECK=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Production sits behind TLS; a cookie sent in clear would give the session
        # away.
        SESSION_COOKIE_SECURE=settings.env == "production",
        WTF_CSRF_TIME_LIMIT=None,
        # Upload jobs' files come in requests; anything bigger is refused unread.
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))

    from app import models  # noqa: F401  (the models must be known to migrations)
    from app.api import register_api
    from app.auth import init_auth
    from app.web import register_web

    # Before CSRFProtect, whose check is a before_request hook too: who asks is
    # settled (login page, 401, 403) before what they sent is looked at.
    init_auth(app)
    csrf.init_app(app)
    register_web(app)
    register_api(app)
    if settings.proxy_hops:
        # Client addresses (audit trail, login throttling) come from the proxy's
        # X-Forwarded-For, trusted only as many hops deep as configured.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )
    logging.getLogger("app").setLevel(logging.INFO)
    return app


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # The web and the workers write at once; wait for a lock instead of failing.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets pages read while a worker writes events."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
