"""A relay process that dies (SIGKILL, nothing cleaned up) the moment its first batch has been
acknowledged by Kafka and before that batch is marked published: the window in which a relay
crash sends rows twice. Run as `python -m tests.support.dying_relay <database url>`; its Kafka
login comes from the KAFKA_* environment, as a service's does."""

import asyncio
import os
import signal
import sys

from prometheus_client import CollectorRegistry

from shared.db import OutboxRelay, make_engine
from shared.db.relay_turn import Claim
from shared.kafka import build_broker
from shared.kafka.connection import broker_security
from shared.settings import KafkaSettings


async def _die(_claim: Claim, **_marks: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(database_url: str) -> None:
    kafka = KafkaSettings()
    broker = build_broker(bootstrap_servers=kafka.bootstrap_servers, service="routing", registry=CollectorRegistry(),
                          security=broker_security(kafka))
    await broker.start()
    Claim.settle = _die  # the batch's acknowledgements are in; its marks never will be
    await OutboxRelay(engine=make_engine(database_url), broker=broker).flush()
    raise SystemExit("the relay was meant to die before marking its batch")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
