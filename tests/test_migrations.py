"""The migrations build exactly the schema the models describe, and undo cleanly.

A column added to a model without a migration (or the other way round) works in
the tests' fresh tables yet breaks every existing installation at its next
update: this catches it before then.
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app import create_app
from app.extensions import db


def _differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


@pytest.mark.all_databases
def test_the_migrated_schema_is_the_models_schema(app):
    assert _differences() == []


def test_every_migration_undoes_and_applies_again(settings, tmp_path):
    """On a database of its own: the session's shared one stays migrated."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    fresh = create_app(settings.__class__(**{**vars(settings), "database_url": url}))
    with fresh.app_context():
        upgrade()
        assert "run" in inspect(db.engine).get_table_names()

        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

        upgrade()
        assert _differences() == []
        db.engine.dispose()
