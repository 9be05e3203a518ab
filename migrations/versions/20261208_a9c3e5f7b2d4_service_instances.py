"""service instances' heartbeats, and who holds a message's answer lease

A retry takes the answering of a message over at once when the instance holding its lease has stopped
saying it is alive, instead of waiting the lease out.

Revision ID: a9c3e5f7b2d4
Revises: f8b2d4e6a1c3
Create Date: 2026-12-08 00:10:00
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = 'a9c3e5f7b2d4'
down_revision = 'f8b2d4e6a1c3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_instances',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('seen_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_instances'))
    )
    with op.batch_alter_table('service_instances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_instances_seen_at'), ['seen_at'], unique=False)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answering_instance', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('answering_instance')
    with op.batch_alter_table('service_instances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_instances_seen_at'))
    op.drop_table('service_instances')
