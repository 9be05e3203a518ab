"""ratings (好差评), the knowledge base's media, the console's notes, the agents' standing

One revision for all of this round's tables: each feature keeps to its own marked section.

Revision ID: e7a1c3d5f9b2
Revises: d5e3f2a1b9c4
Create Date: 2026-12-07 16:55:00
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = 'e7a1c3d5f9b2'
down_revision = 'd5e3f2a1b9c4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # -- ratings: requests, ratings, rectification cases and their steps ------------------------
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department', sa.String(length=64), nullable=True))

    op.create_table('rating_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_key', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=True),
    sa.Column('citizen_id', sa.String(length=36), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('business', sa.String(length=64), nullable=True),
    sa.Column('department', sa.String(length=64), nullable=True),
    sa.Column('requested_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating_requests')),
    sa.UniqueConstraint('event_key', name=op.f('uq_rating_requests_event_key'))
    )
    with op.batch_alter_table('rating_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_requests_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_key', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('business', sa.String(length=64), nullable=True),
    sa.Column('department', sa.String(length=64), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('counter', sa.String(length=64), nullable=True),
    sa.Column('citizen_id', sa.String(length=36), nullable=True),
    sa.Column('conversation_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('mark', sa.String(length=20), nullable=True),
    sa.Column('marked_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
    sa.UniqueConstraint('event_key', name=op.f('uq_ratings_event_key'))
    )
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ratings_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_ratings_at_business', ['created_at', 'business'], unique=False)
        batch_op.create_index('ix_ratings_at_channel', ['created_at', 'channel'], unique=False)
        batch_op.create_index('ix_ratings_at_department', ['created_at', 'department'], unique=False)
        batch_op.create_index('ix_ratings_agent_at', ['agent_id', 'created_at'], unique=False)
        batch_op.create_index('ix_ratings_analysis', ['created_at', 'level', 'mark', 'channel', 'business', 'department', 'agent_id'], unique=False)
        batch_op.create_index('ix_ratings_marked_at', ['marked_at'], unique=False)

    op.create_table('rectification_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('callback_due_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('verified_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('called_back_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rectified_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('replied_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalation', sa.Integer(), nullable=False),
    sa.Column('follow_up_level', sa.Integer(), nullable=True),
    sa.Column('appeal', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['rating_id'], ['ratings.id'], name=op.f('fk_rectification_cases_rating_id_ratings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_cases')),
    sa.UniqueConstraint('rating_id', name=op.f('uq_rectification_cases_rating_id'))
    )
    with op.batch_alter_table('rectification_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_cases_department'), ['department'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_cases_status'), ['status'], unique=False)
        batch_op.create_index('ix_rectification_cases_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_rectification_cases_opened', ['opened_at', 'department'], unique=False)

    op.create_table('rectification_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['rectification_cases.id'], name=op.f('fk_rectification_steps_case_id_rectification_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_steps'))
    )
    with op.batch_alter_table('rectification_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_steps_case_id'), ['case_id'], unique=False)

    # -- ratings: counter windows (QR codes) ----------------------------------------------------
    op.create_table('counter_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('office', sa.String(length=32), nullable=False),
    sa.Column('window', sa.String(length=16), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_counter_windows_agent_id_agents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counter_windows')),
    sa.UniqueConstraint('code', name=op.f('uq_counter_windows_code'))
    )
    with op.batch_alter_table('counter_windows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counter_windows_office'), ['office'], unique=False)

    # -- ratings: the agents' standing (suspension, appeal, re-admission) -------------------------
    op.create_table('agent_suspensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('open_key', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.String(length=20), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('appeal_note', sa.Text(), nullable=True),
    sa.Column('appealed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('readmitted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_suspensions_agent_id_agents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_suspensions')),
    sa.UniqueConstraint('open_key', name=op.f('uq_agent_suspensions_open_key'))
    )
    with op.batch_alter_table('agent_suspensions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_suspensions_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_suspensions_state'), ['state'], unique=False)


    # -- knowledge: media (images, video, diagrams) ---------------------------------------------
    op.create_table('knowledge_media',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('article_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('caption', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_media'))
    )
    with op.batch_alter_table('knowledge_media', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_knowledge_media_article_id'), ['article_id'], unique=False)

    # -- console: notes, display names, buttons ------------------------------------------------
    op.create_table('conversation_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_conversation_notes_agent_id_agents')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_notes_conversation_id_conversations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_notes'))
    )
    with op.batch_alter_table('conversation_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_notes_conversation_id'), ['conversation_id'], unique=False)
    # Citizens saw the agent's login name where no display name was given: such accounts become
    # "客服 <id>" until an admin names them (the application no longer defaults to the login name).
    agents = sa.table('agents', sa.column('id', sa.Integer), sa.column('username', sa.String),
                      sa.column('display_name', sa.String))
    op.execute(agents.update().where(agents.c.display_name == agents.c.username)
               .values(display_name=sa.literal('客服 ') + sa.cast(agents.c.id, sa.String)))

    # -- knowledge: the rule behind each unanswered question (real wording) ----------------------
    with op.batch_alter_table('knowledge_unanswered', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule', sa.String(length=32), nullable=True))

    # -- conversations: retention --------------------------------------------------------------
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', core.db.UTCDateTime(timezone=True), nullable=True))

    # -- end of sections ------------------------------------------------------------------------


def downgrade() -> None:
    # -- conversations: retention --------------------------------------------------------------
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('purged_at')

    # -- knowledge: the rule behind each unanswered question (real wording) ----------------------
    with op.batch_alter_table('knowledge_unanswered', schema=None) as batch_op:
        batch_op.drop_column('rule')

    # -- console: notes, display names, buttons ------------------------------------------------
    with op.batch_alter_table('conversation_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_notes_conversation_id'))
    op.drop_table('conversation_notes')

    # -- knowledge: media (images, video, diagrams) ---------------------------------------------
    op.drop_table('knowledge_media')

    # -- ratings: the agents' standing (suspension, appeal, re-admission) -------------------------
    with op.batch_alter_table('agent_suspensions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_suspensions_state'))
        batch_op.drop_index(batch_op.f('ix_agent_suspensions_agent_id'))
    op.drop_table('agent_suspensions')


    # -- ratings: counter windows (QR codes) ----------------------------------------------------
    with op.batch_alter_table('counter_windows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_counter_windows_office'))
    op.drop_table('counter_windows')

    # -- ratings: requests, ratings, rectification cases and their steps ------------------------
    op.drop_table('rectification_steps')
    op.drop_table('rectification_cases')
    op.drop_table('ratings')
    op.drop_table('rating_requests')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('department')
