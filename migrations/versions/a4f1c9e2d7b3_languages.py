"""organizations.language; users.language may be unset (then the organization's applies)

Revision ID: a4f1c9e2d7b3
Revises: c3f8a2d6e914
Create Date: 2026-12-03 16:20:00

Until now English was the only language, so a user's 'en' was the default, not a choice:
such users follow their organization's language from now on (any other choice is kept).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4f1c9e2d7b3'
down_revision = 'c3f8a2d6e914'
branch_labels = None
depends_on = None


# Plain ALTER TABLE (no batch mode): on SQLite a batch rebuild drops and re-creates the table,
# and with foreign keys on, dropping `organizations` or `users` cascades to every row that
# hangs off them. SQLite cannot drop NOT NULL in place, so there the column is re-made.
def _remake_users_language(nullable: bool) -> None:
    op.add_column('users', sa.Column('language_kept', sa.String(length=12), nullable=True))
    op.execute("UPDATE users SET language_kept = language")
    op.drop_column('users', 'language')
    op.add_column('users', sa.Column('language', sa.String(length=12), nullable=nullable,
                                     server_default=None if nullable else 'en'))
    op.execute("UPDATE users SET language = language_kept WHERE language_kept IS NOT NULL")
    op.drop_column('users', 'language_kept')


def upgrade():
    op.add_column('organizations', sa.Column('language', sa.String(length=12), nullable=False,
                                             server_default='en'))
    if op.get_bind().dialect.name == 'sqlite':
        _remake_users_language(nullable=True)
    else:
        op.alter_column('users', 'language', existing_type=sa.String(length=12), nullable=True)
    op.execute("UPDATE users SET language = NULL WHERE language = 'en'")


def downgrade():
    op.execute("UPDATE users SET language = 'en' WHERE language IS NULL")
    if op.get_bind().dialect.name == 'sqlite':
        _remake_users_language(nullable=False)
    else:
        op.alter_column('users', 'language', existing_type=sa.String(length=12), nullable=False)
    op.drop_column('organizations', 'language')
