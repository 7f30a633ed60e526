"""The secured broker, laid down by the project's own set-up, refuses what it should: no login, a
wrong password, an agency reaching past its own topic and groups; an agency's own system reads its
topic with the example consumer; a service refuses to start on a missing or misconfigured topic;
and one agency's password is rotated while the pipeline runs, with nothing lost."""

import asyncio
import json
import logging
import os
import random
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import GroupAuthorizationFailedError, KafkaConnectionError, TopicAuthorizationFailedError

from shared.kafka.connection import client_options
from shared.kafka.topology import topic_specs
from shared.topics import Topics
from tests.support.examples import assigned_events as assigned, intake_for, thai_national_id
from tests.support.agency_example import EXAMPLE, example_consumer_env, run_example_consumer
from tests.support.infrastructure import REPO
from tests.support.kafka_io import json_of, produce, read_topic
from tests.support.polling import eventually, eventually_async

pytestmark = pytest.mark.integration

CLERK = "clerk-6406"
WELFARE_NEED = "wage_rights"  # shared/catalog/needs.toml: an agency = "welfare" need
DAY_MS = str(24 * 60 * 60 * 1000)


def namespace(kafka_env: dict[str, str]) -> dict[str, str]:
    return {"topic_prefix": kafka_env["KAFKA_TOPIC_PREFIX"], "group_prefix": kafka_env["KAFKA_GROUP_PREFIX"]}


async def put(kafka_env: dict[str, str], topic: str, events: list) -> None:
    await produce(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topic,
                  [(e.referral_id.encode(), e.model_dump_json().encode()) for e in events])


async def bootstrap_refused(client, caplog: pytest.LogCaptureFixture) -> str:  # noqa: ANN001
    """Starts an aiokafka client that must not get in. aiokafka 0.14 raises only "Unable to
    bootstrap" and logs the broker's reason, so the reason is read from its log."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="aiokafka"):
        try:
            with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
                await client.start()
        finally:
            await (client.close() if isinstance(client, AIOKafkaAdminClient) else client.stop())
    return " | ".join(r.getMessage() for r in caplog.records if r.name.startswith("aiokafka"))


async def topics_seen(options: dict) -> list[str]:
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        return await admin.list_topics()
    finally:
        await admin.close()


# ------------------------------------------------------------ logging in --


async def test_a_client_without_credentials_cannot_even_bootstrap(kafka_cluster, kafka_env, caplog):
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    await put(kafka_env, topics.referral_assigned("welfare"), assigned(WELFARE_NEED, 1))
    bootstrap = kafka_cluster.bootstrap
    trusting = ssl.create_default_context(cafile=str(kafka_cluster.ca_file))
    for protocol, options in (("PLAINTEXT", {}), ("SSL", {"ssl_context": trusting})):
        for client in (AIOKafkaAdminClient(bootstrap_servers=bootstrap, security_protocol=protocol, **options),
                       AIOKafkaConsumer(topics.referral_assigned("welfare"), bootstrap_servers=bootstrap,
                                        security_protocol=protocol, auto_offset_reset="earliest", **options)):
            reason = await bootstrap_refused(client, caplog)
            # The broker hangs up on the first request: a plain one is not even TLS; a TLS one that
            # verified the broker's certificate has still not logged in.
            expected = "Unable connect to" if protocol == "PLAINTEXT" else "Unable to request metadata from"
            assert expected in reason and f"Connection at {bootstrap} closed" in reason, (protocol, reason)
    # The broker is up and serves those who log in: the refusals above are the broker's answer.
    assert topics.referral_assigned("welfare") in await topics_seen(client_options(kafka_cluster.harness()))


async def test_a_wrong_password_for_a_real_principal_is_refused(kafka_cluster, kafka_env, caplog):
    login = client_options(kafka_cluster.login("agency-welfare", **namespace(kafka_env)))
    reason = await bootstrap_refused(AIOKafkaAdminClient(**{**login, "sasl_plain_password": "not-its-password"}),
                                     caplog)
    assert "SaslAuthenticationFailed" in reason and "invalid credentials" in reason, reason
    assert "not-its-password" not in reason
    # The same login with its real password gets in (and sees its own topic only).
    seen = await topics_seen(login)
    assert Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]).referral_assigned("welfare") in seen
    assert all(topic.endswith(".referral.assigned.welfare") for topic in seen), seen


# ---------------------------------------------------------- authorization --


async def test_the_skills_principal_reads_its_own_topic_and_nothing_of_welfare(kafka_cluster, kafka_env):
    topics, group = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]), kafka_env["KAFKA_GROUP_PREFIX"]
    (skills_referral,) = assigned("skill_training", 1)
    await put(kafka_env, topics.referral_assigned("skills"), [skills_referral])
    await put(kafka_env, topics.referral_assigned("welfare"), assigned(WELFARE_NEED, 1))
    skills = client_options(kafka_cluster.login("agency-skills", **namespace(kafka_env)))

    own = AIOKafkaConsumer(topics.referral_assigned("skills"), group_id=f"{group}skills.backoffice",
                           auto_offset_reset="earliest", enable_auto_commit=False, **skills)
    await own.start()
    try:
        record = await asyncio.wait_for(own.getone(), 30)
    finally:
        await own.stop()
    assert json_of(record)["referral_id"] == skills_referral.referral_id

    welfare_topic = topics.referral_assigned("welfare")
    other_topic = AIOKafkaConsumer(welfare_topic, group_id=None, auto_offset_reset="earliest", **skills)
    try:
        with pytest.raises(TopicAuthorizationFailedError) as refused:
            await other_topic.start()
    finally:
        await other_topic.stop()
    assert welfare_topic in str(refused.value)

    welfare_group = f"{group}welfare.backoffice"
    other_group = AIOKafkaConsumer(topics.referral_assigned("skills"), group_id=welfare_group,
                                   auto_offset_reset="earliest", **skills)
    try:
        with pytest.raises(GroupAuthorizationFailedError) as refused:
            await other_group.start()
    finally:
        await other_group.stop()
    assert welfare_group in str(refused.value)

    # Not idempotent: an agency writes nothing, so it holds no IdempotentWrite either.
    forger = AIOKafkaProducer(**skills)
    await forger.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError) as refused:
            await forger.send_and_wait(topics.referral_updated, b'{"status": "completed"}', key=b"forged")
    finally:
        await forger.stop()
    assert topics.referral_updated in str(refused.value)
    assert await read_topic(kafka_cluster.bootstrap, topics.referral_updated, expect=1, timeout=2) == []


# ------------------------------------------------- the agency's own system --


def printed_ids(output: str) -> list[str]:
    """The referrals the example printed, one JSON line each (a line still being written is skipped)."""
    return [json.loads(line)["referral_id"] for line in output.splitlines(keepends=True)
            if line.startswith("{") and line.endswith("\n")]


async def test_the_welfare_principal_reads_its_own_topic_with_the_example_consumer(kafka_cluster, kafka_env):
    referrals = assigned(WELFARE_NEED, 3)
    await put(kafka_env, Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]).referral_assigned("welfare"), referrals)
    ended = run_example_consumer(kafka_cluster, kafka_env, agency="welfare", records=len(referrals))
    assert ended.returncode == 0, ended.stderr[-3000:]
    printed = printed_ids(ended.stdout)
    assert sorted(printed) == sorted(r.referral_id for r in referrals), ended.stdout
    # The person arrives sealed; the example prints what identifies the task, not even that.
    assert referrals[0].person.identity.ciphertext not in ended.stdout + ended.stderr


# ------------------------------------------------------ topics at start --


async def harness_admin(kafka_cluster, kafka_env) -> AIOKafkaAdminClient:  # noqa: ANN001
    admin = AIOKafkaAdminClient(**client_options(kafka_cluster.harness(**namespace(kafka_env))))
    await admin.start()
    return admin


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)  # the broker is what is under test
async def test_a_service_whose_topic_is_missing_refuses_to_start_naming_it(kafka_cluster, kafka_env, start_service):
    missing = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]).referral_routed  # routing writes it
    admin = await harness_admin(kafka_cluster, kafka_env)
    try:
        response = await admin.delete_topics([missing])
        assert [error for _topic, error in response.topic_error_codes] == [0]

        async def gone() -> bool:
            return (await admin.describe_topics([missing]))[0]["error_code"] == 3  # UNKNOWN_TOPIC_OR_PARTITION
        await eventually_async(gone, timeout=30)
    finally:
        await admin.close()

    with pytest.raises(RuntimeError, match="routing exited") as refused:
        start_service("routing")
    assert f"topic {missing} does not exist" in str(refused.value)
    assert "To fix: run the set-up (python -m shared.kafka.provision apply" in str(refused.value)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)  # the broker is what is under test
async def test_a_service_whose_topic_is_misconfigured_refuses_to_start_naming_topic_and_setting(
    kafka_cluster, kafka_env, start_service
):
    harness = kafka_cluster.harness(**namespace(kafka_env))
    topic = harness.topics.referral_updated  # intake reads it
    (spec,) = [s for s in topic_specs(harness) if s.name == topic]
    admin = await harness_admin(kafka_cluster, kafka_env)
    try:
        # AlterConfigs replaces a topic's whole set: send the declared one with a day's retention.
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                                  {**spec.config, "retention.ms": DAY_MS})])

        async def altered() -> bool:
            (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
            return dict(entry[:2] for entry in response.resources[0][4]).get("retention.ms") == DAY_MS
        await eventually_async(altered, timeout=30)
    finally:
        await admin.close()

    with pytest.raises(RuntimeError, match="intake exited") as refused:
        start_service("intake")
    assert f"topic {topic} has retention.ms={DAY_MS}, expected -1" in str(refused.value)
    assert "To fix: run the set-up (python -m shared.kafka.provision apply" in str(refused.value)


# --------------------------------------------------------------- rotation --


@pytest.fixture
def background(artifacts_dir: Path):  # noqa: ANN201
    """background(name, argv, env) -> a process writing stdout to <artifacts>/<name>.out; killed after the test."""
    started: list[subprocess.Popen] = []

    def start(name: str, argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
        out = artifacts_dir / f"{name}.out"
        with out.open("wb") as stdout, (artifacts_dir / f"{name}.err").open("wb") as stderr:
            started.append(subprocess.Popen(argv, cwd=REPO, env=env, stdout=stdout, stderr=stderr))
        return started[-1], out

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def post_welfare_intakes(intake, identity, rng: random.Random, count: int) -> dict[str, str]:  # noqa: ANN001
    """intake_id -> the one welfare referral_id, for `count` new people."""
    made = {}
    for _ in range(count):
        answer = httpx.post(f"{intake.url}/v1/intakes", json=intake_for(thai_national_id(rng), needs=[WELFARE_NEED]),
                            timeout=10, auth=identity.auth(CLERK))
        assert answer.status_code == 202, answer.text
        (referral,) = answer.json()["referrals"]
        made[answer.json()["intake_id"]] = referral["referral_id"]
    return made


def all_received(intake, identity, intakes: dict[str, str]) -> None:  # noqa: ANN001
    """Routing, the agency adapters and intake's status view all did their part for each intake."""
    def statuses() -> dict[str, str]:
        found = {}
        for intake_id in intakes:
            for row in httpx.get(f"{intake.url}/v1/intakes/{intake_id}", auth=identity.auth(CLERK)).json()["referrals"]:
                found[row["referral_id"]] = row["status"]
        return found
    eventually(statuses, until=lambda found: found == dict.fromkeys(intakes.values(), "received"), timeout=60)


def rotate(kafka_cluster, principal: str) -> subprocess.CompletedProcess:  # noqa: ANN001
    """The documented command (docs/kafka-security.md), run as an operator would: the set-up's login."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    env = {**base, "KAFKA_BOOTSTRAP_SERVERS": kafka_cluster.bootstrap, "KAFKA_SSL_CAFILE": str(kafka_cluster.ca_file),
           "KAFKA_USERNAME": "songtor-admin", "KAFKA_PASSWORD_FILE": str(kafka_cluster.password_file("songtor-admin")),
           "KAFKA_SETUP_SECRETS_DIR": str(kafka_cluster.secrets_dir)}
    return subprocess.run([sys.executable, "-m", "shared.kafka.provision", "rotate", principal], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


async def committed_ids(kafka_cluster, kafka_env, group: str, topic: str, *, of: int) -> set[str]:  # noqa: ANN001
    """The referrals below the group's committed offsets: handed over and acknowledged."""
    admin = await harness_admin(kafka_cluster, kafka_env)
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    records = await read_topic(kafka_cluster.bootstrap, topic, expect=of)
    return {json_of(r)["referral_id"] for r in records
            if r.offset < getattr(offsets.get(TopicPartition(r.topic, r.partition)), "offset", -1)}


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)  # the broker is what is under test
async def test_one_agency_password_rotated_while_the_pipeline_runs_loses_nothing(
    kafka_cluster, kafka_env, start_service, identity, background, caplog
):
    stack = start_service.stack("reporting", "agency-adapters", "routing", "intake")
    intake, rng = stack["intake"], random.Random()
    topic = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]).referral_assigned("welfare")
    group = f"{kafka_env['KAFKA_GROUP_PREFIX']}welfare.backoffice"
    password_file = kafka_cluster.password_file("agency-welfare")
    consumer_argv = [sys.executable, *EXAMPLE, "welfare"]
    consumer_env = example_consumer_env(kafka_cluster, kafka_env, "welfare")
    first, first_out = background("welfare-consumer-1", consumer_argv, consumer_env)

    before = post_welfare_intakes(intake, identity, rng, 4)
    eventually(lambda: set(printed_ids(first_out.read_text())), until=set(before.values()).issubset, timeout=60)

    old_password = password_file.read_text(encoding="utf-8").strip()
    rotated = rotate(kafka_cluster, "agency-welfare")
    assert rotated.returncode == 0, rotated.stderr
    assert "new password for agency-welfare is in effect" in rotated.stderr
    new_password = password_file.read_text(encoding="utf-8").strip()
    assert new_password != old_password and password_file.stat().st_mode & 0o777 == 0o600
    for secret in (old_password, new_password):
        assert secret not in rotated.stdout + rotated.stderr, "a password in the set-up's output"

    login = client_options(kafka_cluster.login("agency-welfare", **namespace(kafka_env)))
    reason = await bootstrap_refused(AIOKafkaAdminClient(**{**login, "sasl_plain_password": old_password}), caplog)
    assert "SaslAuthenticationFailed" in reason, reason
    assert topic in await topics_seen(login)  # the file's (new) password gets in

    # The pipeline goes on, and the running consumer keeps the session it opened before the
    # rotation (docs/kafka-security.md: an open connection stays logged in until it closes).
    during = post_welfare_intakes(intake, identity, rng, 3)
    all_received(intake, identity, before | during)
    eventually(lambda: set(printed_ids(first_out.read_text())), until=set(during.values()).issubset, timeout=60)
    assert first.poll() is None, first_out.with_suffix(".err").read_text()[-3000:]
    first.send_signal(signal.SIGTERM)  # the agency restarts its consumer (systemd, Kubernetes) for the new password
    assert first.wait(timeout=30) == 0
    printed_first = printed_ids(first_out.read_text())
    committed = await committed_ids(kafka_cluster, kafka_env, group, topic, of=len(before) + len(during))
    assert committed <= set(printed_first), "an offset committed before its referral was handed over"

    after = post_welfare_intakes(intake, identity, rng, 3)
    second, second_out = background("welfare-consumer-2", consumer_argv, consumer_env)
    every = set((before | during | after).values())
    eventually(lambda: set(printed_first) | set(printed_ids(second_out.read_text())),
               until=lambda seen: seen == every, timeout=60)
    printed_second = printed_ids(second_out.read_text())
    assert set(after.values()) <= set(printed_second), "the restarted consumer (new password) read nothing new"
    assert not committed & set(printed_second), "a referral handed over again although its offset was committed"
    assert len(printed_first) == len(set(printed_first)) and len(printed_second) == len(set(printed_second))
    assert second.poll() is None, second_out.with_suffix(".err").read_text()[-3000:]
    all_received(intake, identity, before | during | after)
