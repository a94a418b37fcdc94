"""Accounts: logging in, the permission table and its guard, security headers."""

from __future__ import annotations

from flask import Flask

from app.auth.guard import (
    can,
    forbidden,
    forget_request_state,
    guard_pages,
    load_user,
    security_headers,
)
from app.extensions import login_manager


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(load_user)

    app.before_request(forget_request_state)
    app.before_request(guard_pages)
    app.after_request(security_headers)
    app.register_error_handler(403, forbidden)
    app.add_template_global(can)

    from app.cli import users_cli

    app.cli.add_command(users_cli)
