"""A malformed message on the intake topic lands in its dead-letter topic with its reason, and
the good message behind it is still processed."""

import pytest

from shared.kafka import DeadLetterHeaders
from shared.topics import Topics
from tests.support.examples import intake_event
from tests.support.kafka_io import headers_of, json_of, produce, read_topic

pytestmark = pytest.mark.faults


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)  # the broker is what is under test
async def test_poison_goes_to_the_dead_letter_topic_and_the_next_intake_is_routed(start_service, kafka_env):
    start_service("routing")
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    bootstrap = kafka_env["KAFKA_BOOTSTRAP_SERVERS"]
    good = intake_event(intake_id="99999999-0000-4000-8000-000000000001")
    key = good.intake_id.encode()
    # Same key as the good one: same partition, so the poison really sits in front of it.
    await produce(bootstrap, topics.intake_submitted, [(key, b"{this is not json"), (key, good.model_dump_json().encode())])

    dead = await read_topic(bootstrap, f"{topics.intake_submitted}.dlq", expect=1)
    assert len(dead) == 1
    headers = headers_of(dead[0])
    assert headers[DeadLetterHeaders.ORIGINAL_TOPIC] == topics.intake_submitted
    assert headers[DeadLetterHeaders.ORIGINAL_OFFSET] == "0"
    assert headers[DeadLetterHeaders.ORIGINAL_PARTITION].isdigit()
    assert headers[DeadLetterHeaders.CONSUMER_GROUP] == f"{kafka_env['KAFKA_GROUP_PREFIX']}routing"
    assert headers[DeadLetterHeaders.EXCEPTION_CLASS]
    assert headers[DeadLetterHeaders.EXCEPTION_MESSAGE]
    assert headers[DeadLetterHeaders.ATTEMPTS] == "1"  # it can never decode: at once, not after the retry bound
    assert dead[0].value == b"{this is not json"

    routed = await read_topic(bootstrap, topics.referral_assigned("social_security"), expect=2)
    assert sorted(json_of(r)["need_code"] for r in routed) == ["ss_article33_benefit_check", "ss_article40_enrolment"]
    assert all(json_of(r)["intake_id"] == good.intake_id for r in routed)
