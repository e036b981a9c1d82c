"""import_jobs.preview: the first rows of an upload, read in the background

Revision ID: b6e2f1a4c8d7
Revises: b5e2c8d1f4a7
Create Date: 2026-12-03 14:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b6e2f1a4c8d7'
down_revision = 'b5e2c8d1f4a7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preview', sa.JSON(), nullable=False,
                                      server_default='[]'))


def downgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_column('preview')
