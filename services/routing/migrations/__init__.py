"""Routing's database: the tables it runs on and the migrations that make them (versions/).
`python -m shared.db.migrate --service routing …` runs them (docs/operations.md#schema-migrations)."""

from pathlib import Path

from routing.models import TABLES
from routing.settings import RoutingSettings
from shared.auth.audit import TABLES as AUDIT_TABLES
from shared.db.leases import LEASE_TABLES
from shared.db.schema import ServiceSchema

SCHEMA = ServiceSchema(service="routing", tables=(*TABLES, *AUDIT_TABLES, *LEASE_TABLES),
                       versions=Path(__file__).with_name("versions"), settings=RoutingSettings)
