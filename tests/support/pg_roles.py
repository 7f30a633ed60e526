"""A PostgreSQL database a service reaches as a login role of its own, not as a superuser, so
that a test can take a privilege away from the service and give it back, as a DBA would.

A superuser (what tests/conftest.py's databases use) bypasses every privilege check; only a
plain role is refused when a grant is missing.
"""

import uuid
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url

from tests.support.infrastructure import PostgresForTests


@dataclass(frozen=True, slots=True)
class RoleDatabase:
    admin_url: str  # the database itself, as the cluster's superuser
    service_url: str  # the same database, as the role that owns it (for the service's settings)
    role: str
    name: str

    def execute(self, sql: str) -> None:
        """Run one statement as the superuser in this database (GRANT, REVOKE, ...)."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def drop(self) -> None:
        """The database and its role; roles are cluster-wide, so none is left behind."""
        maintenance = self.admin_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{self.role}"')


def database_owned_by_a_role(postgres: PostgresForTests, *, service: str) -> RoleDatabase:
    """A fresh database owned by a new login role (so the service creates its tables as that
    role), with a password, so it works under trust and password authentication alike."""
    suffix = uuid.uuid4().hex[:8]
    name, role, password = f"{service.replace('-', '_')}_{suffix}", f"songtor_test_{suffix}", uuid.uuid4().hex
    superuser = make_url(postgres.fresh_database(name))
    admin_url = superuser.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
        # The owner of the database owns its public schema too (PostgreSQL 15+: pg_database_owner).
        conn.execute(f'ALTER DATABASE "{name}" OWNER TO "{role}"')
        conn.execute(f'GRANT CREATE ON SCHEMA public TO "{role}"')
    service_url = superuser.set(username=role, password=password).render_as_string(hide_password=False)
    return RoleDatabase(admin_url=admin_url, service_url=service_url, role=role, name=name)
