"""`flask --app app users ...`: accounts from the command line.

    flask --app app users create NAME --role admin [--password-file FILE]
    flask --app app users create-token NAME [--name NAME] [--expires-days N]
    flask --app app users list
    flask --app app users ensure-admin

What these commands do is in the audit trail like any other change, done
"through cli" by nobody in particular: whoever can run them owns the machine.
"""

from __future__ import annotations

import logging
from typing import IO

import click
from flask.cli import AppGroup

from app import audit
from app.extensions import db
from app.models import AuditVia, Role
from app.services import ServiceError
from app.services import tokens as token_service
from app.services import users as user_service

log = logging.getLogger(__name__)

users_cli = AppGroup("users", help="Create and list Playdeck's users.")

ROLES = click.Choice([role.value for role in Role])


def _fail(error: ServiceError) -> None:
    lines = [error.message, *(f"  {k}: {v}" for k, v in error.fields.items())]
    raise click.ClickException("\n".join(lines))


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=ROLES, default=Role.VIEWER.value, show_default=True)
@click.option(
    "--password-file",
    type=click.File("r"),
    help="Read the password from this file (its first line) instead of asking.",
)
def create(username: str, role: str, password_file: IO[str] | None) -> None:
    """Create a user; asks for the password twice unless given a file."""
    if password_file is not None:
        password = password_file.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with audit.acting_as(None, AuditVia.CLI):
        try:
            user = user_service.create_user(
                username=username, password=password, role=role
            )
        except ServiceError as error:
            _fail(error)
    click.echo(f"User {user.username} created ({user.role}).")


@users_cli.command("create-token")
@click.argument("username")
@click.option("--name", default="command line", show_default=True)
@click.option("--expires-days", type=click.IntRange(1), default=None)
def create_token(username: str, name: str, expires_days: int | None) -> None:
    """Make an API token for a user and print it, once; it acts with their role."""
    user = user_service.find(username)
    if user is None or not user.active:
        raise click.ClickException(f"No active user named {username}.")
    with audit.acting_as(None, AuditVia.CLI):
        try:
            _row, token = token_service.create_token(
                user, name=name, expires_days=expires_days
            )
        except ServiceError as error:
            _fail(error)
    # The token alone on stdout, so that `$(flask ... create-token ann)` takes it;
    # the words go to stderr.
    click.echo(
        f"API token for {user.username} ({user.role}); shown only this once:",
        err=True,
    )
    click.echo(token)


@users_cli.command("list")
def list_users() -> None:
    """Every user, with their role and whether they may log in."""
    for user in db.session.scalars(user_service.users_query()):
        state = "" if user.active else "  (deactivated)"
        click.echo(f"{user.username:<24} {user.role:<9}{state}")


@users_cli.command("ensure-admin")
def ensure_admin() -> None:
    """Create a first admin with a generated password when there is no admin."""
    with audit.acting_as(None, AuditVia.CLI):
        made = user_service.ensure_admin()
    if made is None:
        return
    user, password = made
    bar = "=" * 64
    click.echo(
        f"{bar}\n"
        "Playdeck had no admin: this one was created.\n\n"
        f"    user name: {user.username}\n"
        f"    password:  {password}\n\n"
        "It is shown only this once: log in with it, then change it on the\n"
        "Password page (your name, top right).\n"
        f"{bar}"
    )
