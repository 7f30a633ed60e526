"""Baseline of reporting: every table its service made with create_all before migrations, as it made them
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
    op.create_table('intake_service_facts',
    sa.Column('intake_id', sa.String(length=36), nullable=False),
    sa.Column('need_code', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('district_code', sa.String(length=4), nullable=False),
    sa.Column('org_unit', sa.String(length=20), nullable=False),
    sa.Column('source_program', sa.String(length=40), nullable=False),
    sa.Column('worker_type', sa.String(length=20), nullable=False),
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('intake_month', sa.String(length=7), nullable=False),
    sa.Column('intake_received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('informal_registry', sa.Boolean(), nullable=True),
    sa.Column('informal_registry_import_id', sa.Integer(), nullable=True),
    sa.Column('tpmap_registry', sa.Boolean(), nullable=True),
    sa.Column('tpmap_registry_import_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('intake_id', 'need_code')
    )
    with op.batch_alter_table('intake_service_facts', schema=None) as batch_op:
        batch_op.create_index('ix_intake_service_facts_org_unit_month', ['org_unit', 'intake_month'], unique=False)
        batch_op.create_index('ix_intake_service_facts_province_month', ['province_code', 'intake_month'], unique=False)

    op.create_table('monthly_referral_counts',
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('intake_month', sa.String(length=7), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('worker_type', sa.String(length=20), nullable=False),
    sa.Column('referrals', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('province_code', 'intake_month', 'agency', 'category', 'status', 'worker_type')
    )
    op.create_table('monthly_service_counts',
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('intake_month', sa.String(length=7), nullable=False),
    sa.Column('need_code', sa.String(length=64), nullable=False),
    sa.Column('services', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('province_code', 'intake_month', 'need_code')
    )
    op.create_table('national_feed_intakes',
    sa.Column('intake_id', sa.String(length=36), nullable=False),
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('seen', sa.Boolean(), nullable=False),
    sa.Column('org_unit', sa.String(length=20), nullable=True),
    sa.Column('program', sa.String(length=20), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('intake_id')
    )
    with op.batch_alter_table('national_feed_intakes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_national_feed_intakes_person_ref'), ['person_ref'], unique=False)

    op.create_table('national_feed_people',
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('next_position', sa.Integer(), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consented', sa.Boolean(), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_org_unit', sa.String(length=20), nullable=False),
    sa.Column('first_program', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('person_ref')
    )
    op.create_table('national_feed_records',
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('redrive_count', sa.Integer(), nullable=False),
    sa.Column('last_redrive_by', sa.String(length=255), nullable=True),
    sa.Column('last_redrive_reason', sa.String(length=500), nullable=True),
    sa.Column('delivery_id', sa.String(length=36), nullable=False),
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('referral_id', sa.String(length=36), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('body_json', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('delivery_id')
    )
    with op.batch_alter_table('national_feed_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_national_feed_records_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index('ix_national_feed_records_person_position', ['person_ref', 'position'], unique=False)
        batch_op.create_index(batch_op.f('ix_national_feed_records_referral_id'), ['referral_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_national_feed_records_state'), ['state'], unique=False)

    op.create_table('national_feed_waiting',
    sa.Column('referral_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('intake_id', sa.String(length=36), nullable=False),
    sa.Column('event_json', sa.String(), nullable=False),
    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('referral_id', 'version')
    )
    with op.batch_alter_table('national_feed_waiting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_national_feed_waiting_intake_id'), ['intake_id'], unique=False)

    op.create_table('ops_dlq_redrives',
    sa.Column('dlq_topic', sa.String(length=249), nullable=False),
    sa.Column('dlq_partition', sa.Integer(), nullable=False),
    sa.Column('dlq_offset', sa.Integer(), nullable=False),
    sa.Column('target_topic', sa.String(length=249), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('redriven_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dlq_topic', 'dlq_partition', 'dlq_offset')
    )
    op.create_table('ops_overdue_notices',
    sa.Column('referral_id', sa.String(length=36), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('level', sa.String(length=60), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('announced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('referral_id', 'stage', 'level')
    )
    with op.batch_alter_table('ops_overdue_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ops_overdue_notices_agency'), ['agency'], unique=False)

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
    op.create_table('published_reports',
    sa.Column('form', sa.String(length=8), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('on_time', sa.Boolean(), nullable=False),
    sa.Column('closed_by', sa.String(length=255), server_default='system', nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('rows_json', sa.String(), nullable=False),
    sa.Column('changes_json', sa.String(), nullable=False),
    sa.Column('csv', sa.LargeBinary(), nullable=False),
    sa.Column('xlsx', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('form', 'scope', 'month', 'version')
    )
    op.create_table('referral_facts',
    sa.Column('referral_id', sa.String(length=36), nullable=False),
    sa.Column('intake_id', sa.String(length=36), nullable=False),
    sa.Column('need_code', sa.String(length=64), nullable=True),
    sa.Column('agency', sa.String(length=40), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_version', sa.Integer(), nullable=False),
    sa.Column('outcome_code', sa.String(length=64), nullable=True),
    sa.Column('has_intake', sa.Boolean(), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=True),
    sa.Column('district_code', sa.String(length=4), nullable=True),
    sa.Column('subdistrict_code', sa.String(length=6), nullable=True),
    sa.Column('org_unit', sa.String(length=20), nullable=True),
    sa.Column('source_program', sa.String(length=40), nullable=True),
    sa.Column('worker_type', sa.String(length=20), nullable=True),
    sa.Column('person_ref', sa.String(length=64), nullable=True),
    sa.Column('intake_received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('intake_month', sa.String(length=7), nullable=True),
    sa.Column('completed_month', sa.String(length=7), nullable=True),
    sa.Column('informal_registry', sa.Boolean(), nullable=True),
    sa.Column('informal_registry_import_id', sa.Integer(), nullable=True),
    sa.Column('tpmap_registry', sa.Boolean(), nullable=True),
    sa.Column('tpmap_registry_import_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('referral_id')
    )
    with op.batch_alter_table('referral_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_facts_intake_id'), ['intake_id'], unique=False)
        batch_op.create_index('ix_referral_facts_org_unit_month', ['org_unit', 'intake_month'], unique=False)
        batch_op.create_index('ix_referral_facts_province_month', ['province_code', 'intake_month'], unique=False)

    op.create_table('registry_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('rows_accepted', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('registry_imports', schema=None) as batch_op:
        batch_op.create_index('ix_registry_imports_kind_effective', ['kind', 'effective_date'], unique=False)

    op.create_table('registry_members',
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('household_id', sa.String(length=40), nullable=True),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('district_code', sa.String(length=4), nullable=False),
    sa.PrimaryKeyConstraint('import_id', 'row_number')
    )
    with op.batch_alter_table('registry_members', schema=None) as batch_op:
        batch_op.create_index('ix_registry_members_person_import', ['person_ref', 'import_id'], unique=False)

    op.create_table('report_people',
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('identity_json', sa.String(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('person_ref')
    )
    op.create_table('rollup_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('facts_at_fill', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('rollup_state')
    op.drop_table('report_people')
    with op.batch_alter_table('registry_members', schema=None) as batch_op:
        batch_op.drop_index('ix_registry_members_person_import')

    op.drop_table('registry_members')
    with op.batch_alter_table('registry_imports', schema=None) as batch_op:
        batch_op.drop_index('ix_registry_imports_kind_effective')

    op.drop_table('registry_imports')
    with op.batch_alter_table('referral_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_facts_province_month')
        batch_op.drop_index('ix_referral_facts_org_unit_month')
        batch_op.drop_index(batch_op.f('ix_referral_facts_intake_id'))

    op.drop_table('referral_facts')
    op.drop_table('published_reports')
    op.drop_table('person_keys')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending_key', postgresql_where=sa.text('published_at IS NULL'), sqlite_where=sa.text('published_at IS NULL'))
        batch_op.drop_index('ix_outbox_pending', postgresql_where=sa.text('published_at IS NULL'), sqlite_where=sa.text('published_at IS NULL'))

    op.drop_table('outbox_messages')
    with op.batch_alter_table('ops_overdue_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ops_overdue_notices_agency'))

    op.drop_table('ops_overdue_notices')
    op.drop_table('ops_dlq_redrives')
    with op.batch_alter_table('national_feed_waiting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_national_feed_waiting_intake_id'))

    op.drop_table('national_feed_waiting')
    with op.batch_alter_table('national_feed_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_national_feed_records_state'))
        batch_op.drop_index(batch_op.f('ix_national_feed_records_referral_id'))
        batch_op.drop_index('ix_national_feed_records_person_position')
        batch_op.drop_index(batch_op.f('ix_national_feed_records_next_attempt_at'))

    op.drop_table('national_feed_records')
    op.drop_table('national_feed_people')
    with op.batch_alter_table('national_feed_intakes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_national_feed_intakes_person_ref'))

    op.drop_table('national_feed_intakes')
    op.drop_table('monthly_service_counts')
    op.drop_table('monthly_referral_counts')
    with op.batch_alter_table('intake_service_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_intake_service_facts_province_month')
        batch_op.drop_index('ix_intake_service_facts_org_unit_month')

    op.drop_table('intake_service_facts')
    op.drop_table('inbox_processed_events')
    op.drop_table('erased_person_keys')
    with op.batch_alter_table('audit_personal_data_reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_personal_data_reads_at'))
        batch_op.drop_index(batch_op.f('ix_audit_personal_data_reads_actor'))

    op.drop_table('audit_personal_data_reads')
    with op.batch_alter_table('audit_personal_data_read_people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_personal_data_read_people_person_ref'))

    op.drop_table('audit_personal_data_read_people')
