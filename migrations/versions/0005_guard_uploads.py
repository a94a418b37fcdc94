"""the command guard's rules and switches, warnings on runs, upload jobs' files

Revision ID: 0005_guard_uploads
Revises: 0004_schedules
Create Date: 2026-12-04 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_guard_uploads'
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
    op.create_table('upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('dest', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=4), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_upload_job_id_job'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upload')),
    sa.UniqueConstraint('job_id', name=op.f('uq_upload_job_id'))
    )
    op.create_table('upload_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['upload_id'], ['upload.id'], name=op.f('fk_upload_file_upload_id_upload'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upload_file')),
    sa.UniqueConstraint('upload_id', 'name', name=op.f('uq_upload_file_upload_id'))
    )
    # Runs from before the guard were warned about nothing: [].
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guard_warnings', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_column('guard_warnings')

    op.drop_table('upload_file')
    op.drop_table('upload')
    op.drop_table('guard_check')
    with op.batch_alter_table('guard_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guard_rule_position'))

    op.drop_table('guard_rule')
