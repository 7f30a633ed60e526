"""Open need claims: one row per (person_ref, need_code) opened as a referral, whose key makes the
second of two intakes of one person and need committed at the same moment fail and join the
first one's referral (intake/models.py OpenNeedClaim). A new, empty table, not filled from the
open referrals already stored: an intake reads who is open from intake_referral_status, and a
need without a claim is claimed by the intake that next opens it, as a stale claim is replaced.

Revision ID: 0003_open_need_claims
Revises: 0002_background_leases
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003_open_need_claims'
down_revision: str | None = '0002_background_leases'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('intake_open_need_claims',
    sa.Column('person_ref', sa.String(length=64), nullable=False),
    sa.Column('need_code', sa.String(length=64), nullable=False),
    sa.Column('referral_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('person_ref', 'need_code')
    )


def downgrade() -> None:
    op.drop_table('intake_open_need_claims')
