"""removals that hold; personal sign-in links

Revision ID: d4a1fc1d3066
Revises: b6e2f1a4c8d7
Create Date: 2026-12-03 14:21:35.656911

- `operation_removals`: who was taken out of an operation; no join link lets them back in
  until an organizer or owner adds them back.
- `signin_links`: personal, one-time, short-lived sign-in links (token kept as SHA-256).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4a1fc1d3066'
down_revision = 'b6e2f1a4c8d7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('operation_removals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('operation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('removed_by_id', sa.Integer(), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['operation_id'], ['operations.id'], name=op.f('fk_operation_removals_operation_id_operations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['removed_by_id'], ['users.id'], name=op.f('fk_operation_removals_removed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_operation_removals_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operation_removals')),
    sa.UniqueConstraint('operation_id', 'user_id', name=op.f('uq_operation_removals_operation_id'))
    )
    with op.batch_alter_table('operation_removals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operation_removals_operation_id'), ['operation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_operation_removals_user_id'), ['user_id'], unique=False)

    op.create_table('signin_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('operation_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_signin_links_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['operation_id'], ['operations.id'], name=op.f('fk_signin_links_operation_id_operations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_signin_links_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_signin_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signin_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_signin_links_token_hash'))
    )
    with op.batch_alter_table('signin_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signin_links_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_links_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('signin_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signin_links_user_id'))
        batch_op.drop_index(batch_op.f('ix_signin_links_organization_id'))

    op.drop_table('signin_links')
    with op.batch_alter_table('operation_removals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operation_removals_user_id'))
        batch_op.drop_index(batch_op.f('ix_operation_removals_operation_id'))

    op.drop_table('operation_removals')
