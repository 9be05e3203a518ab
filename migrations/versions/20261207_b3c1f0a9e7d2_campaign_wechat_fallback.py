"""campaign WeChat template fall-back

Revision ID: b3c1f0a9e7d2
Revises: 71acd248d550
Create Date: 2026-12-07 12:16:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'b3c1f0a9e7d2'
down_revision = '71acd248d550'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing campaigns keep what they did: the SMS fall-back.
    with op.batch_alter_table('callout_campaigns') as batch:
        batch.add_column(sa.Column('fallback', sa.String(length=20), nullable=False, server_default='sms'))
        batch.add_column(sa.Column('wechat_template_id', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('wechat_data', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('callout_campaigns') as batch:
        batch.drop_column('wechat_data')
        batch.drop_column('wechat_template_id')
        batch.drop_column('fallback')
