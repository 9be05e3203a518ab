"""campaign retention: when a finished campaign's records were anonymised

Revision ID: c4d2e1b0f8a3
Revises: b3c1f0a9e7d2
Create Date: 2026-12-07 12:20:00
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = 'c4d2e1b0f8a3'
down_revision = 'b3c1f0a9e7d2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('callout_campaigns') as batch:
        batch.add_column(sa.Column('purged_at', core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('callout_campaigns') as batch:
        batch.drop_column('purged_at')
