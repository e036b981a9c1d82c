"""instance administrators; campaign numbers unique across the instance

Revision ID: 7d3e9a1c5b20
Revises: 4c1f7e2a9b3d
Create Date: 2026-12-03 14:00:00.000000

- `users.is_instance_admin`: only instance administrators create organizations. The first
  user (the one first-run set-up created) becomes one.
- `organizations.campaign_number` becomes unique: two organizations claiming one number made
  inbound texts, calls and STOP land in the wrong organization. Where an existing database
  has such a clash, the organization that set the number first (lowest id) keeps it and the
  others lose it (they were not receiving its texts anyway); they must choose another number.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '7d3e9a1c5b20'
down_revision = '4c1f7e2a9b3d'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE (no batch): a rebuilt `users` would cascade to memberships on SQLite.
    op.add_column('users', sa.Column('is_instance_admin', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.execute("UPDATE users SET is_instance_admin = true "
               "WHERE id = (SELECT min(id) FROM users)")
    op.execute("UPDATE organizations SET campaign_number = NULL "
               "WHERE campaign_number IS NOT NULL AND id > (SELECT min(o2.id) "
               "FROM organizations o2 WHERE o2.campaign_number = organizations.campaign_number)")
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organizations_campaign_number'))
        # A unique index, not a constraint: SQLite would rebuild the table for a constraint,
        # and dropping `organizations` cascades to every row that refers to it.
        batch_op.create_index(batch_op.f('ix_organizations_campaign_number'),
                              ['campaign_number'], unique=True)


def downgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organizations_campaign_number'))
        batch_op.create_index(batch_op.f('ix_organizations_campaign_number'),
                              ['campaign_number'], unique=False)
    op.drop_column('users', 'is_instance_admin')
