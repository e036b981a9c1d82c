"""Call legs remember the provider's callback number (status callbacks apply in order).

Revision ID: b41d7e2c9a10
Revises: e7c3a9f2b815
"""

import sqlalchemy as sa
from alembic import op

revision = "b41d7e2c9a10"
down_revision = "e7c3a9f2b815"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("call_legs") as batch:
        batch.add_column(sa.Column("status_sequence", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("call_legs") as batch:
        batch.drop_column("status_sequence")
