"""results in events for the host x task grid, per-host history, time zones

Revision ID: 0006_pages
Revises: 0005_guard_uploads
Create Date: 2026-12-04 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_pages'
down_revision = '0005_guard_uploads'
branch_labels = None
depends_on = None

TASK_START = "type IN ('playbook_on_task_start', 'playbook_on_handler_task_start')"
STAT_KEYS = ('ok', 'changed', 'failed', 'unreachable', 'skipped')
# Runs read at once while the per-host history is filled from existing runs.
BATCH = 500


def upgrade():
    # Nullable columns without a default: adding them rewrites no row, even on
    # a large event table. Events stored before have no result and show no grid.
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('task_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('result', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('detail', sa.Text(), nullable=True))
    # Partial indexes: only the rows each one serves are in it, which keeps the
    # event sink's inserts fast.
    op.create_index(
        'ix_event_run_id_host', 'event', ['run_id', 'host', 'seq'],
        sqlite_where=sa.text('host IS NOT NULL'),
        postgresql_where=sa.text('host IS NOT NULL'),
    )
    op.create_index(
        'ix_event_task_start', 'event', ['run_id', 'seq'],
        sqlite_where=sa.text(TASK_START),
        postgresql_where=sa.text(TASK_START),
    )
    op.create_index(
        'ix_event_result', 'event', ['run_id', 'task_seq', 'host', 'seq'],
        sqlite_where=sa.text('result IS NOT NULL'),
        postgresql_where=sa.text('result IS NOT NULL'),
    )

    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('task_count', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), server_default='', nullable=False))

    run_host = op.create_table('run_host',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('ok', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('unreachable', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_run_host_job_id_job'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], name=op.f('fk_run_host_run_id_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'host', name=op.f('pk_run_host'))
    )
    _fill_host_history(run_host)
    with op.batch_alter_table('run_host', schema=None) as batch_op:
        batch_op.create_index('ix_run_host_host_job_id_run_id', ['host', 'job_id', 'run_id'], unique=False)
        batch_op.create_index('ix_run_host_host_run_id', ['host', 'run_id'], unique=False)


def _fill_host_history(run_host):
    """The per-host rows of the runs that ended before this migration."""
    run = sa.table(
        'run',
        sa.column('id', sa.Integer),
        sa.column('job_id', sa.Integer),
        sa.column('status', sa.String),
        sa.column('stats', sa.JSON),
        sa.column('finished_at', sa.DateTime),
    )
    terminal = ('successful', 'failed', 'canceled', 'timeout', 'error')
    connection = op.get_bind()
    after = 0
    while True:
        runs = connection.execute(
            sa.select(run)
            .where(run.c.id > after, run.c.status.in_(terminal))
            .order_by(run.c.id)
            .limit(BATCH)
        ).all()
        if not runs:
            return
        rows = [
            _row(found, host, counts)
            for found in runs
            for host, counts in (found.stats or {}).items()
        ]
        if rows:
            connection.execute(run_host.insert(), rows)
        after = runs[-1].id


def _row(run, host, counts):
    """A host's row; kept here rather than imported, as the code may change."""
    numbers = {key: int((counts or {}).get(key, 0) or 0) for key in STAT_KEYS}
    outcome = next(
        (key for key in ('unreachable', 'failed', 'changed', 'ok') if numbers[key]),
        'skipped',
    )
    return {
        'run_id': run.id,
        'host': host[:255],
        'job_id': run.job_id,
        'status': run.status,
        'outcome': outcome,
        'finished_at': run.finished_at,
        **numbers,
    }


def downgrade():
    with op.batch_alter_table('run_host', schema=None) as batch_op:
        batch_op.drop_index('ix_run_host_host_run_id')
        batch_op.drop_index('ix_run_host_host_job_id_run_id')
    op.drop_table('run_host')

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('timezone')
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_column('task_count')

    op.drop_index('ix_event_result', table_name='event')
    op.drop_index('ix_event_task_start', table_name='event')
    op.drop_index('ix_event_run_id_host', table_name='event')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('detail')
        batch_op.drop_column('result')
        batch_op.drop_column('task_seq')
