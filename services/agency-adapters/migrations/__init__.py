"""The agency adapters' database: the tables they run on and the migrations that make them
(versions/). `python -m shared.db.migrate --service agency-adapters …` runs them
(docs/operations.md#schema-migrations)."""

from pathlib import Path

from agency_adapters.models import TABLES
from agency_adapters.settings import AgencySettings
from shared.auth.audit import TABLES as AUDIT_TABLES
from shared.db.leases import LEASE_TABLES
from shared.db.schema import ServiceSchema

SCHEMA = ServiceSchema(service="agency-adapters", tables=(*TABLES, *AUDIT_TABLES, *LEASE_TABLES),
                       versions=Path(__file__).with_name("versions"), settings=AgencySettings)
