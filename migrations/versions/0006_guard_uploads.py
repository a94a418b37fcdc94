"""the command guard's rules and switches, and the warnings it leaves on runs

Revision ID: 0006_guard_uploads
Revises: 0004_schedules
Create Date: 2026-12-04 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_guard_uploads'
down_revision = '0004_schedules'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('guard_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('pattern', sa.Text(), nullable=False),
    sa.Column('regex', sa.Boolean(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guard_rule'))
    )
    with op.batch_alter_table('guard_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guard_rule_position'), ['position'], unique=False)

    # A built-in check without a row is on: nothing to seed.
    op.create_table('guard_check',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_guard_check'))
    )
    # Runs from before the guard were warned about nothing: [].
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guard_warnings', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_column('guard_warnings')

    op.drop_table('guard_check')
    with op.batch_alter_table('guard_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guard_rule_position'))

    op.drop_table('guard_rule')
