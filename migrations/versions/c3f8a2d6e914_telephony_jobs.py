"""telephony jobs: the webhook outbox, call error codes, texts-only opt-outs (text_opt_outs)

Revision ID: c3f8a2d6e914
Revises: b41d7e2c9a10
Create Date: 2026-12-03 16:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3f8a2d6e914'
down_revision = 'b41d7e2c9a10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('provider_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('args', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sweeps', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.create_index(batch_op.f('ix_provider_events_handled_at'), ['handled_at'],
                              unique=False)
    with op.batch_alter_table('call_legs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_code', sa.Integer(), nullable=True))
    op.create_table(
        'text_opt_outs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('phone_hmac', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_text_opt_outs_organization_id_organizations'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_text_opt_outs')),
        sa.UniqueConstraint('organization_id', 'phone_hmac',
                            name=op.f('uq_text_opt_outs_organization_id')),
    )


def downgrade():
    op.drop_table('text_opt_outs')
    with op.batch_alter_table('call_legs', schema=None) as batch_op:
        batch_op.drop_column('error_code')
    with op.batch_alter_table('provider_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provider_events_handled_at'))
        batch_op.drop_column('sweeps')
        batch_op.drop_column('enqueued_at')
        batch_op.drop_column('handled_at')
        batch_op.drop_column('args')
        batch_op.drop_column('job')
