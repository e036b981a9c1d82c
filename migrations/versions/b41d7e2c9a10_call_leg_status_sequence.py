"""Call legs remember the provider's callback number (status callbacks apply in order).

Revision ID: b41d7e2c9a10
Revises: a9c4e2f7b1d3
"""

import sqlalchemy as sa
from alembic import op

revision = "b41d7e2c9a10"
down_revision = "a9c4e2f7b1d3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("call_legs") as batch:
        batch.add_column(sa.Column("status_sequence", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("call_legs") as batch:
        batch.drop_column("status_sequence")
