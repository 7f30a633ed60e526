"""Reporting's database: the tables it runs on (facts, rollups, registries, filed forms, the
national feed, the ops view's, the audit log) and the migrations that make them (versions/).
`python -m shared.db.migrate --service reporting …` runs them (docs/operations.md#schema-migrations)."""

from pathlib import Path

from reporting.models import TABLES
from reporting.ops.models import OPS_TABLES
from reporting.settings import ReportingSettings
from shared.auth.audit import TABLES as AUDIT_TABLES
from shared.db.leases import LEASE_TABLES
from shared.db.schema import ServiceSchema

SCHEMA = ServiceSchema(service="reporting", tables=(*TABLES, *OPS_TABLES, *AUDIT_TABLES, *LEASE_TABLES),
                       versions=Path(__file__).with_name("versions"), settings=ReportingSettings)
