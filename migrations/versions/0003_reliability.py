"""who canceled a run, how often it was queued again, runs found by age

Revision ID: 0003_reliability
Revises: 0002_accounts
Create Date: 2026-12-03 19:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_reliability'
down_revision = '0002_accounts'
branch_labels = None
depends_on = None


def upgrade():
    # batch_alter_table: SQLite cannot alter a table in place; PostgreSQL can,
    # and Alembic then emits plain ALTER TABLE statements.
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('canceled_by', sa.String(length=255), nullable=True))
        # Existing runs were never queued again: 0, written by the server default.
        batch_op.add_column(sa.Column('requeued', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_run_queued_at'), ['queued_at'], unique=False)


def downgrade():
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_queued_at'))
        batch_op.drop_column('requeued')
        batch_op.drop_column('canceled_by')
