"""An agency's own system reading its referrals straight from Songtor's Kafka: plain aiokafka,
no Songtor code. Copy it, replace `handle` with the hand-over to your back office.

    KAFKA_BOOTSTRAP_SERVERS=kafka.songtor.example:9093 KAFKA_SSL_CAFILE=songtor-ca.pem \\
    KAFKA_USERNAME=agency-welfare KAFKA_PASSWORD_FILE=/run/secrets/songtor-kafka \\
    python examples/agency_consumer.py welfare

Your login may read `referral.assigned.<agency>` only, in consumer groups named
`songtor.<agency>.<anything>` (default here: songtor.<agency>.backoffice). The offset is committed
after `handle` returns, so a crash means a referral is handed over again, never lost: make `handle`
idempotent on `referral_id`. Messages follow the AsyncAPI channel referral.assigned.<agency>
(docs/asyncapi.json, ReferralAssignedV2). Full guide: docs/agency-it.md.
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError


def handle(referral: dict) -> None:
    # Replace with the hand-over to your system. The person's national ID, name and phone arrive
    # sealed (person.identity): read them with a signed GET of
    # /v1/agency-systems/<agency>/referrals/<referral_id> (docs/agency-it.md). Never log them;
    # this example prints only what identifies the task.
    print(json.dumps({"referral_id": referral["referral_id"], "need_code": referral["need_code"],
                      "province": referral["person"]["address"]["province_code"]}), flush=True)


async def consume(agency: str, *, group: str, max_records: int | None) -> None:
    env = os.environ
    password = env.get("KAFKA_PASSWORD") or open(env["KAFKA_PASSWORD_FILE"], encoding="utf-8").read().strip()
    consumer = AIOKafkaConsumer(
        f"{env.get('KAFKA_TOPIC_PREFIX', '')}referral.assigned.{agency}",
        bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=env["KAFKA_USERNAME"],
        sasl_plain_password=password,
        ssl_context=ssl.create_default_context(cafile=env.get("KAFKA_SSL_CAFILE")),
        group_id=group,
        enable_auto_commit=False,  # commit only what was handed over
        auto_offset_reset="earliest",  # a new group starts with every waiting referral
    )
    seen = 0
    stopping = asyncio.Event()
    _stop_on_signals(stopping)
    try:
        await consumer.start()
        while not stopping.is_set() and (max_records is None or seen < max_records):
            # Never take more than is still wanted: what is taken is handed over, then committed.
            wanted = 50 if max_records is None else min(50, max_records - seen)
            batch = await consumer.getmany(timeout_ms=1000, max_records=wanted)
            for records in batch.values():
                for record in records:
                    handle(json.loads(record.value))
                    seen += 1
            if batch:
                await consumer.commit()
    finally:
        await consumer.stop()  # leaves the group at once: the partitions move without a wait


def _stop_on_signals(stopping: asyncio.Event) -> None:
    # SIGTERM is how systemd, Kubernetes and most service managers stop a process; Python would die
    # on it without leaving the group. Handlers are set explicitly because a process started in the
    # background by a script inherits SIGINT ignored, and Ctrl-C would then do nothing.
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stopping.set)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("agency", choices=["employment", "skills", "welfare", "social_security"])
    parser.add_argument("--group", help="consumer group (default songtor.<agency>.backoffice)")
    parser.add_argument("--max-records", type=int, help="stop after this many (default: run until Ctrl-C or SIGTERM)")
    args = parser.parse_args()
    group = args.group or f"{os.environ.get('KAFKA_GROUP_PREFIX', 'songtor.')}{args.agency}.backoffice"
    try:
        asyncio.run(consume(args.agency, group=group, max_records=args.max_records))
    except KafkaError as exc:  # e.g. a wrong password, or a topic or group this login may not use
        sys.exit(f"refused by Kafka: {exc}")


if __name__ == "__main__":
    main()
