"""contacts import: contact_tags without rowid, no separate contacts.organization_id index

Revision ID: 4c1f7e2a9b3d
Revises: da812593b5c3
Create Date: 2026-12-01 07:40:00.000000

- `ix_contacts_organization_id` is a prefix of `ix_contacts_org_email`: SQLite and PostgreSQL
  use the latter for anything the former served (look-ups by organization, cascades), and an
  import no longer writes a fourth index of a million entries.
- `contact_tags` becomes a WITHOUT ROWID table on SQLite (rows live in the primary key's
  B-tree). SQLite cannot alter that in place: the table is rebuilt, its rows copied.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '4c1f7e2a9b3d'
down_revision = 'da812593b5c3'
branch_labels = None
depends_on = None


def _rebuild_contact_tags(with_rowid: bool) -> None:
    """Rebuild contact_tags with or without a rowid (SQLite only; a no-op elsewhere)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
            'contact_tags', recreate='always',
            table_kwargs={'sqlite_with_rowid': with_rowid}) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_tags_tag_id'))
        batch_op.create_index(batch_op.f('ix_contact_tags_tag_id'), ['tag_id'], unique=False)


def upgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_organization_id'))
    _rebuild_contact_tags(with_rowid=False)


def downgrade():
    _rebuild_contact_tags(with_rowid=True)
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_organization_id'), ['organization_id'],
                              unique=False)
