"""import_jobs.consent_source, consent_purpose: why people from phones (vCard) were added

Revision ID: e7c3a9f2b815
Revises: d4a1fc1d3066
Create Date: 2026-12-03 15:15:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e7c3a9f2b815'
down_revision = 'd4a1fc1d3066'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_source', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('consent_purpose', sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_column('consent_purpose')
        batch_op.drop_column('consent_source')
