"""call_in_codes.expires_at: call-in codes expire

Codes issued before this revision never expired; they expire now (the volunteer gets a new
one on the call-in page or from an organizer, and the line says the old one expired).

Revision ID: c91e4a7d2b58
Revises: f2b7d4e9a1c6
Create Date: 2026-12-04 09:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c91e4a7d2b58'
down_revision = 'f2b7d4e9a1c6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('call_in_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE call_in_codes SET expires_at = created_at")
    with op.batch_alter_table('call_in_codes', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)


def downgrade():
    with op.batch_alter_table('call_in_codes', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
