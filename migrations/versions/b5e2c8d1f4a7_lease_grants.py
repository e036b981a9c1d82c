"""lease grants: every person shown to an agent, for the caller limits and lease proofs

Revision ID: b5e2c8d1f4a7
Revises: 7b2e9d4f1a60
Create Date: 2026-12-03 14:40:00.000000

A target keeps only its current lease. `lease_grants` remembers each lease granted (who saw
whom, until when, and whether they handed the person back), so the caller app counts how
many people an agent saw in the database (the same count for every worker) and accepts a
result's lease proof only while its own lease lives. Leases held when this runs have no row:
their results are accepted while the lease is held, as before.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b5e2c8d1f4a7'
down_revision = '7b2e9d4f1a60'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lease_grants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('operation_id', sa.Integer(), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_by', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['agent_id'], ['users.id'],
                                name=op.f('fk_lease_grants_agent_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['operation_id'], ['operations.id'],
                                name=op.f('fk_lease_grants_operation_id_operations'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['target_id'], ['targets.id'],
                                name=op.f('fk_lease_grants_target_id_targets'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lease_grants')),
    )
    with op.batch_alter_table('lease_grants', schema=None) as batch_op:
        batch_op.create_index('ix_lease_grants_agent', ['operation_id', 'agent_id', 'granted_at'],
                              unique=False)
        batch_op.create_index('ix_lease_grants_target', ['target_id', 'granted_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('lease_grants', schema=None) as batch_op:
        batch_op.drop_index('ix_lease_grants_target')
        batch_op.drop_index('ix_lease_grants_agent')
    op.drop_table('lease_grants')
