"""job parameters and run options; what a run was launched with, what it repeats

Revision ID: 0007_run_options
Revises: 0006_pages
Create Date: 2026-12-04 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_run_options'
down_revision = '0006_pages'
branch_labels = None
depends_on = None


def upgrade():
    # batch_alter_table: SQLite cannot alter a table in place; PostgreSQL can.
    # Every new column has a server default, so existing jobs ask nothing at
    # launch and keep running exactly as before.
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parameters', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('limit', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('tags', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('skip_tags', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('check_mode', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('diff_mode', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('verbosity', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('become', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('become_user', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('become_method', sa.String(length=16), server_default='', nullable=False))
        batch_op.add_column(sa.Column('remote_user', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('ask_at_launch', sa.JSON(), server_default='[]', nullable=False))

    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parameters', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('secrets', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('options', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('relaunch_of_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_run_relaunch_of_id'), ['relaunch_of_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_run_relaunch_of_id_run'), 'run', ['relaunch_of_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_run_relaunch_of_id_run'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_run_relaunch_of_id'))
        batch_op.drop_column('relaunch_of_id')
        batch_op.drop_column('options')
        batch_op.drop_column('secrets')
        batch_op.drop_column('parameters')

    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_column('ask_at_launch')
        batch_op.drop_column('remote_user')
        batch_op.drop_column('become_method')
        batch_op.drop_column('become_user')
        batch_op.drop_column('become')
        batch_op.drop_column('verbosity')
        batch_op.drop_column('diff_mode')
        batch_op.drop_column('check_mode')
        batch_op.drop_column('skip_tags')
        batch_op.drop_column('tags')
        batch_op.drop_column('limit')
        batch_op.drop_column('parameters')
