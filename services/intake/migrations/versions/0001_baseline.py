"""Baseline of intake: every table its service made with create_all before migrations, as it made them
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

    op.create_table('erased_person_keys',
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('person_ref', 'key_id')
    )
    op.create_table('inbox_processed_events',
    sa.Column('consumer', sa.String(length=120), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id')
    )
    op.create_table('intake_bulk_errors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('column_header', sa.String(), nullable=False),
    sa.Column('value', sa.String(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('reason_th', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('intake_bulk_errors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_bulk_errors_job_id'), ['job_id'], unique=False)

    op.create_table('intake_bulk_jobs',
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_path', sa.String(length=1000), nullable=False),
    sa.Column('file_kind', sa.String(length=4), nullable=False),
    sa.Column('file_bytes', sa.Integer(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_by', sa.String(length=255), nullable=False),
    sa.Column('submitter_org_units', sa.String(), nullable=False),
    sa.Column('submitter_provinces', sa.String(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sheet_rows', sa.Integer(), nullable=True),
    sa.Column('last_row', sa.Integer(), nullable=False),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('error_lines', sa.Integer(), nullable=False),
    sa.Column('warnings_json', sa.String(), nullable=False),
    sa.Column('failure', sa.String(), nullable=True),
    sa.Column('worker', sa.String(length=100), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('job_id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('intake_bulk_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_bulk_jobs_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_bulk_jobs_submitted_by'), ['submitted_by'], unique=False)

    op.create_table('intake_consent_withdrawals',
    sa.Column('withdrawal_id', sa.String(length=36), nullable=False),
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('withdrawn_by', sa.String(length=255), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('places_json', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('withdrawal_id')
    )
    with op.batch_alter_table('intake_consent_withdrawals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_consent_withdrawals_person_ref'), ['person_ref'], unique=False)

    op.create_table('intake_erasure_confirmations',
    sa.Column('erasure_id', sa.String(length=36), nullable=False),
    sa.Column('service', sa.String(length=40), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_json', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('erasure_id', 'service')
    )
    op.create_table('intake_erasures',
    sa.Column('erasure_id', sa.String(length=36), nullable=False),
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('requested_by', sa.String(length=255), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('provinces_json', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('erasure_id')
    )
    with op.batch_alter_table('intake_erasures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_erasures_person_ref'), ['person_ref'], unique=False)

    op.create_table('intake_idempotency',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_json', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('intake_referral_status',
    sa.Column('referral_id', sa.String(length=36), nullable=False),
    sa.Column('intake_id', sa.String(length=36), nullable=False),
    sa.Column('need_code', sa.String(length=64), nullable=False),
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('referral_id')
    )
    with op.batch_alter_table('intake_referral_status', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_referral_status_intake_id'), ['intake_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_referral_status_person_ref'), ['person_ref'], unique=False)

    op.create_table('intakes',
    sa.Column('intake_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('program', sa.String(length=40), nullable=False),
    sa.Column('org_unit', sa.String(length=20), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('submitted_by', sa.String(length=255), nullable=False),
    sa.Column('event_json', sa.String(), nullable=False),
    sa.Column('warnings_json', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('intake_id')
    )
    with op.batch_alter_table('intakes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intakes_person_ref'), ['person_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_intakes_submitted_by'), ['submitted_by'], unique=False)

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

    op.create_table('person_keys',
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('kek_id', sa.String(length=64), nullable=False),
    sa.Column('wrapped_key', sa.String(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('person_ref')
    )


def downgrade() -> None:
    op.drop_table('person_keys')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending_key', postgresql_where=sa.text('published_at IS NULL'), sqlite_where=sa.text('published_at IS NULL'))
        batch_op.drop_index('ix_outbox_pending', postgresql_where=sa.text('published_at IS NULL'), sqlite_where=sa.text('published_at IS NULL'))

    op.drop_table('outbox_messages')
    with op.batch_alter_table('intakes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intakes_submitted_by'))
        batch_op.drop_index(batch_op.f('ix_intakes_person_ref'))

    op.drop_table('intakes')
    with op.batch_alter_table('intake_referral_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_referral_status_person_ref'))
        batch_op.drop_index(batch_op.f('ix_intake_referral_status_intake_id'))

    op.drop_table('intake_referral_status')
    op.drop_table('intake_idempotency')
    with op.batch_alter_table('intake_erasures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_erasures_person_ref'))

    op.drop_table('intake_erasures')
    op.drop_table('intake_erasure_confirmations')
    with op.batch_alter_table('intake_consent_withdrawals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_consent_withdrawals_person_ref'))

    op.drop_table('intake_consent_withdrawals')
    with op.batch_alter_table('intake_bulk_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_bulk_jobs_submitted_by'))
        batch_op.drop_index(batch_op.f('ix_intake_bulk_jobs_state'))

    op.drop_table('intake_bulk_jobs')
    with op.batch_alter_table('intake_bulk_errors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_bulk_errors_job_id'))

    op.drop_table('intake_bulk_errors')
    op.drop_table('inbox_processed_events')
    op.drop_table('erased_person_keys')
    with op.batch_alter_table('audit_personal_data_reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_personal_data_reads_at'))
        batch_op.drop_index(batch_op.f('ix_audit_personal_data_reads_actor'))

    op.drop_table('audit_personal_data_reads')
    with op.batch_alter_table('audit_personal_data_read_people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_personal_data_read_people_person_ref'))

    op.drop_table('audit_personal_data_read_people')
