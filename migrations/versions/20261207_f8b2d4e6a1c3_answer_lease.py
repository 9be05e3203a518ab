"""the answer lease on citizen messages

Until when the instance that stored a citizen message is answering it: a retry of a message nobody
answered (its instance died mid-answer) takes the lease over once it has run out, and answers.

Revision ID: f8b2d4e6a1c3
Revises: e7a1c3d5f9b2
Create Date: 2026-12-07 23:45:00
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = 'f8b2d4e6a1c3'
down_revision = 'e7a1c3d5f9b2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_lease_until', core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('answer_lease_until')
