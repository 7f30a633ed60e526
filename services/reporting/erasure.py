"""Erasing a person from reporting: their name and ID leave the filed form versions, then the key
copy goes, after which their sealed identity (report_people) opens to nothing: the live forms and
summaries mark their line, the counts stay. Opened once more first, to find them in what was filed."""

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.closing.redaction import redact_filed_versions
from reporting.models import ReportPerson
from shared.contracts import Sealed
from shared.db import OutboxRelay
from shared.privacy import KeyWrapper, forget_keys, identities_of
from shared.privacy.erasures import subscribe_erasures
from shared.settings import KafkaSettings

CONSUMER = "reporting.erasures"


async def erase_person(session: AsyncSession, person_ref: str, *, master_keys: KeyWrapper) -> dict[str, int]:
    row = await session.get(ReportPerson, person_ref)
    identities = await identities_of(session, wrapper=master_keys, person_refs=[person_ref])
    identity = identities.identity(Sealed.model_validate_json(row.identity_json), person_ref=person_ref) if row else None
    redacted = await redact_filed_versions(session, national_id=identity.national_id) if identity else 0
    return {"published_reports": redacted, "person_keys": await forget_keys(session, person_refs=[person_ref])}


def register_erasure_handler(*, broker: KafkaBroker, kafka: KafkaSettings, sessions: async_sessionmaker[AsyncSession],
                             relay: OutboxRelay, master_keys: KeyWrapper) -> None:
    async def erase(session: AsyncSession, person_ref: str) -> dict[str, int]:
        return await erase_person(session, person_ref, master_keys=master_keys)

    subscribe_erasures(broker=broker, kafka=kafka, sessions=sessions, relay=relay, service="reporting",
                       group=CONSUMER, erase=erase)
