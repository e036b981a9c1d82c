"""import_jobs.updated_at, attempts, checkpoint: imports run as jobs and resume after a crash

Revision ID: a5d9c3e1f7b2
Revises: a4f1c9e2d7b3
Create Date: 2026-12-03 16:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a5d9c3e1f7b2'
down_revision = 'a4f1c9e2d7b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('checkpoint', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_column('checkpoint')
        batch_op.drop_column('attempts')
        batch_op.drop_column('updated_at')
