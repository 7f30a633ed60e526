"""Scope change counts: how the month close knows a closed form's facts changed (reporting/closing/
scope_changes.py). report_scope_changes counts the transactions that changed the facts of each
(province, org unit, month), bumped by those transactions; report_close_marks holds the count each
form's newest version was built from. Until now the close compared the facts' times with the
version's, which misses a fact committed after the close read the facts.

The counts start empty (0 everywhere). Each form's newest version filed before this revision is
marked at 0 when, by the rule of the code before it, nothing changed since it was filed (no fact of
its scope written after its closed_at); one whose facts changed since is left unmarked, and the
close compares it once more, as it would have.

Revision ID: 0003_scope_change_counts
Revises: 0002_background_leases
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003_scope_change_counts'
down_revision: str | None = '0002_background_leases'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('report_close_marks',
    sa.Column('form', sa.String(length=8), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('form', 'scope', 'month')
    )
    op.create_table('report_scope_changes',
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('org_unit', sa.String(length=20), nullable=False),
    sa.Column('intake_month', sa.String(length=7), nullable=False),
    sa.Column('changes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('province_code', 'org_unit', 'intake_month')
    )
    op.execute(_mark_versions_unchanged_since_filed())


def downgrade() -> None:
    op.drop_table('report_scope_changes')
    op.drop_table('report_close_marks')


def _mark_versions_unchanged_since_filed() -> sa.Insert:
    """INSERT INTO report_close_marks the newest version of each form whose scope has no fact
    written after the version's closed_at (the check the close made before this revision)."""
    reports = sa.table('published_reports', sa.column('form'), sa.column('scope'), sa.column('month'),
                       sa.column('version', sa.Integer), sa.column('closed_at', sa.DateTime(timezone=True)))
    later = reports.alias('later')
    facts = sa.table('referral_facts', sa.column('has_intake', sa.Boolean), sa.column('org_unit'),
                     sa.column('province_code'), sa.column('intake_month'),
                     sa.column('updated_at', sa.DateTime(timezone=True)))
    services = sa.table('intake_service_facts', sa.column('org_unit'), sa.column('province_code'),
                        sa.column('intake_month'), sa.column('recorded_at', sa.DateTime(timezone=True)))
    marks = sa.table('report_close_marks', sa.column('form'), sa.column('scope'), sa.column('month'),
                     sa.column('version', sa.Integer), sa.column('changes', sa.Integer))

    def in_scope(table: sa.TableClause) -> sa.ColumnElement[bool]:
        return sa.and_(table.c.intake_month == reports.c.month, sa.or_(
            sa.and_(reports.c.form == 'sp12', table.c.org_unit == reports.c.scope),
            sa.and_(reports.c.form == 'snb2', table.c.province_code == reports.c.scope)))

    newest = ~sa.exists().where(later.c.form == reports.c.form, later.c.scope == reports.c.scope,
                                later.c.month == reports.c.month, later.c.version > reports.c.version)
    fact_since = sa.exists().where(in_scope(facts), facts.c.has_intake.is_(True), facts.c.updated_at > reports.c.closed_at)
    service_since = sa.exists().where(in_scope(services), services.c.recorded_at > reports.c.closed_at)
    unchanged = sa.select(reports.c.form, reports.c.scope, reports.c.month, reports.c.version, sa.literal(0)).where(
        newest, ~fact_since, ~service_since)
    return marks.insert().from_select(['form', 'scope', 'month', 'version', 'changes'], unchanged)
