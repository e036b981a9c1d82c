"""failed_jobs: background jobs whose last try failed (the dead-letter list)

Revision ID: a9c4e2f7b1d3
Revises: e7c3a9f2b815
Create Date: 2026-12-03 16:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a9c4e2f7b1d3'
down_revision = 'e7c3a9f2b815'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'failed_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_name', sa.String(length=200), nullable=False),
        sa.Column('task_id', sa.String(length=64), nullable=False),
        sa.Column('args', sa.JSON(), nullable=False),
        sa.Column('kwargs', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('retried_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('failed_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_failed_jobs_task_id'), ['task_id'], unique=False)


def downgrade():
    with op.batch_alter_table('failed_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_failed_jobs_task_id'))
    op.drop_table('failed_jobs')
