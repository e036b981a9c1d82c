"""audit_entries (organization_id, created_at, id): the audit log's pages, newest first

Revision ID: f2b7d4e9a1c6
Revises: a5d9c3e1f7b2
Create Date: 2026-12-04 09:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f2b7d4e9a1c6'
down_revision = 'a5d9c3e1f7b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entries_org_created',
                              ['organization_id', 'created_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_org_created')
