"""Baseline of routing: every table its service made with create_all before migrations, as it made them
(generated against an empty database, read by hand: types, keys, indexes, server defaults).
A database made by create_all before this revision is stamped here (shared/db/migrations.py).

Revision ID: 0001
Revises: none (the first)
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_personal_data_read_people',
    sa.Column('read_id', sa.String(length=36), nullable=False),
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('read_id', 'person_ref')
    )
    with op.batch_alter_table('audit_personal_data_read_people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_personal_data_read_people_person_ref'), ['person_ref'], unique=False)

    op.create_table('audit_personal_data_reads',
    sa.Column('read_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('actor_name', sa.String(length=255), nullable=False),
    sa.Column('service', sa.String(length=40), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('route', sa.String(length=200), nullable=False),
    sa.Column('request_scope', sa.String(length=500), nullable=False),
    sa.Column('caller_scope', sa.String(length=500), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('read_id')
    )
    with op.batch_alter_table('audit_personal_data_reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_personal_data_reads_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_personal_data_reads_at'), ['at'], unique=False)

    op.create_table('inbox_processed_events',
    sa.Column('consumer', sa.String(length=120), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id')
    )
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending', ['id'], unique=False, postgresql_where=sa.text('published_at IS NULL'), sqlite_where=sa.text('published_at IS NULL'))
        batch_op.create_index('ix_outbox_pending_key', ['key', 'id'], unique=False, postgresql_where=sa.text('published_at IS NULL'), sqlite_where=sa.text('published_at IS NULL'))

    op.create_table('routing_decisions',
    sa.Column('referral_id', sa.String(length=36), nullable=False),
    sa.Column('intake_id', sa.String(length=36), nullable=False),
    sa.Column('need_code', sa.String(length=64), nullable=False),
    sa.Column('need_note', sa.String(), nullable=True),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('rule', sa.String(length=120), nullable=False),
    sa.Column('explanation', sa.String(), nullable=False),
    sa.Column('catalog_version', sa.String(length=40), nullable=False),
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('person_json', sa.String(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=255), nullable=False),
    sa.Column('history_json', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('referral_id')
    )
    with op.batch_alter_table('routing_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_decisions_intake_id'), ['intake_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routing_decisions_state'), ['state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('routing_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_decisions_state'))
        batch_op.drop_index(batch_op.f('ix_routing_decisions_intake_id'))

    op.drop_table('routing_decisions')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending_key', postgresql_where=sa.text('published_at IS NULL'), sqlite_where=sa.text('published_at IS NULL'))
        batch_op.drop_index('ix_outbox_pending', postgresql_where=sa.text('published_at IS NULL'), sqlite_where=sa.text('published_at IS NULL'))

    op.drop_table('outbox_messages')
    op.drop_table('inbox_processed_events')
    with op.batch_alter_table('audit_personal_data_reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_personal_data_reads_at'))
        batch_op.drop_index(batch_op.f('ix_audit_personal_data_reads_actor'))

    op.drop_table('audit_personal_data_reads')
    with op.batch_alter_table('audit_personal_data_read_people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_personal_data_read_people_person_ref'))

    op.drop_table('audit_personal_data_read_people')
