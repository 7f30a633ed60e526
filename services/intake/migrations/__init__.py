"""Intake's database: the tables it runs on and the migrations that make them (versions/).
`python -m shared.db.migrate --service intake …` runs them (docs/operations.md#schema-migrations)."""

from pathlib import Path

from intake.bulk.models import TABLES as BULK_TABLES
from intake.models import TABLES
from intake.settings import IntakeSettings
from shared.auth.audit import TABLES as AUDIT_TABLES
from shared.db.leases import LEASE_TABLES
from shared.db.schema import ServiceSchema

SCHEMA = ServiceSchema(service="intake", tables=(*TABLES, *BULK_TABLES, *AUDIT_TABLES, *LEASE_TABLES),
                       versions=Path(__file__).with_name("versions"), settings=IntakeSettings)
