"""A service makes a new database through its migrations in every environment; outside local and
test it refuses to start on a database behind its code, naming the command that upgrades it, and
in local and test it upgrades it (so `make run KEEP=1` and the tests go on working)."""

import pytest
from sqlalchemy import create_engine, text

from routing.main import build_app
from routing.settings import RoutingSettings
from shared.auth import OidcSettings
from shared.db import make_engine
from shared.db.migrations import SchemaError, _scripts, prepare_schema
from shared.db.schema import schema_of
from shared.settings import KafkaSettings, PrivacySettings
from tests.support.tokens import LOCAL_ISSUER
from tests.unit.test_migrations_upgrade import made_before_migrations

PRODUCTION = PrivacySettings(environment="production", person_ref_key="k" * 40)
HEAD = _scripts(schema_of("routing")).get_current_head()
REFUSAL = ("The routing database is behind this code: its schema revision is none (its tables were made before "
           f"migrations), the code needs {HEAD}. Run `python -m shared.db.migrate --service routing upgrade` with "
           "ROUTING_DATABASE_URL set")


async def _prepare(url: str, *, development: bool) -> None:
    """What a routing process does with its database at start."""
    engine = make_engine(url)
    try:
        await prepare_schema(engine=engine, schema=schema_of("routing"), development=development)
    finally:
        await engine.dispose()


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = connection.execute(text("SELECT name FROM sqlite_master WHERE name = 'alembic_version'")).all()
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar() if tables else None
    finally:
        engine.dispose()


async def test_a_service_outside_local_and_test_refuses_a_database_behind_its_code(tmp_path):
    url = made_before_migrations(service="routing", path=tmp_path / "routing.db")
    app = build_app(RoutingSettings(
        http_port=1, database_url=url, privacy=PRODUCTION, oidc=OidcSettings(issuer=LOCAL_ISSUER),
        kafka=KafkaSettings(username="songtor-routing", password="p" * 40, bootstrap_servers="127.0.0.1:1",
                           replication_factor=3, min_insync_replicas=2)))
    with pytest.raises(SchemaError) as refused:
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover - the lifespan does not get this far
    assert str(refused.value).startswith(REFUSAL)
    assert _revision(url) is None  # nothing was changed


@pytest.mark.parametrize("environment", ["local", "test"])
async def test_in_local_and_test_a_database_behind_the_code_is_upgraded_at_start(environment, tmp_path):
    url = made_before_migrations(service="routing", path=tmp_path / "routing.db")
    await _prepare(url, development=PrivacySettings(environment=environment).development)
    assert _revision(url) == HEAD


async def test_a_new_database_is_made_by_the_migrations_in_every_environment(tmp_path):
    url = f"sqlite:///{tmp_path}/routing.db"
    await _prepare(url, development=False)
    assert _revision(url) == HEAD


async def test_a_database_upgraded_by_newer_code_is_refused_everywhere(tmp_path):
    url = f"sqlite:///{tmp_path}/routing.db"
    await _prepare(url, development=True)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(SchemaError, match="at schema revision 0099, which this code does not know"):
        await _prepare(url, development=True)
