"""organizations: default calling hours for new operations

Revision ID: 7b2e9d4f1a60
Revises: 7d3e9a1c5b20
Create Date: 2026-12-03 14:00:00.000000

Existing organizations get 09:00-21:00, the hours new operations had until now. The country
(`default_region`) and time zone (`time_zone`) columns already exist.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7b2e9d4f1a60'
down_revision = '7d3e9a1c5b20'
branch_labels = None
depends_on = None


# Plain ALTER TABLE (no batch mode): on SQLite a batch rebuild drops and re-creates
# `organizations`, and with foreign keys on, dropping it cascades to every row that hangs
# off an organization.
def upgrade():
    op.add_column('organizations', sa.Column('default_window_start', sa.Time(), nullable=False,
                                             server_default='09:00:00'))
    op.add_column('organizations', sa.Column('default_window_end', sa.Time(), nullable=False,
                                             server_default='21:00:00'))


def downgrade():
    op.drop_column('organizations', 'default_window_end')
    op.drop_column('organizations', 'default_window_start')
