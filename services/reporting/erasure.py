"""Erasing a person from reporting: their name and ID leave the filed form versions, then the key
copy goes, after which their sealed identity (report_people) opens to nothing: the live forms and
summaries mark their line, the counts stay. Opened once more first, to find them in what was filed.
What the national feed has not sent of them yet is not sent: the national system keeps what it
received (its own controller's copy, docs/national-feed.md)."""

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.closing.redaction import redact_filed_versions
from reporting.models import ReportPerson
from reporting.national_feed import ledger as national_feed
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
    # The national feed's records not sent yet never will be (they would name the person when sent).
    unsent = await national_feed.close_open_records(session, person_ref=person_ref, state="erased")
    unsent += await national_feed.forget_waiting(session, person_ref=person_ref)
    return {"published_reports": redacted, "national_feed_records": unsent,
            "person_keys": await forget_keys(session, person_refs=[person_ref])}


def register_erasure_handler(*, broker: KafkaBroker, kafka: KafkaSettings, sessions: async_sessionmaker[AsyncSession],
                             relay: OutboxRelay, master_keys: KeyWrapper) -> None:
    async def erase(session: AsyncSession, person_ref: str) -> dict[str, int]:
        return await erase_person(session, person_ref, master_keys=master_keys)

    subscribe_erasures(broker=broker, kafka=kafka, sessions=sessions, relay=relay, service="reporting",
                       group=CONSUMER, erase=erase)
