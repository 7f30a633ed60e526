"""The fault matrix (issue 16): each fault on the three-node cluster under a steady stream of
intakes, each judged by the one checker (tests/support/fault_checker.py) against the clerks' 202
answers: 0 lost, 0 doubled, 0 unexpected at the agencies and in reporting, and every agency
counted right in the monthly summary.

`make test` runs the leader kill here and the service kills (test_crash_consumers.py); the rest of
the matrix is marked `fault_matrix` and runs with `make test-faults` (docs/testing.md).
"""

import asyncio
import json
import os
import signal
import subprocess
import uuid

import pytest

from shared.kafka.provision import admin_client
from shared.topics import dead_letter_topic
from tests.support.fault_checker import Verdict, judge_stack
from tests.support.infrastructure import PG_SCRIPT, KafkaCluster, cluster
from tests.support.intake_stream import intake_bodies, submit_all
from tests.support.kafka_io import headers_of, produce, produce_again, read_to_end
from tests.support.log_catch_up import groups_caught_up

pytestmark = pytest.mark.faults

INTAKES = 200
SETTLE_SECONDS = 240
STACK = ("reporting", "agency-adapters", "routing", "intake")


class Stack:
    """The four services of one test and the clerks', officers' and the province's logins."""

    def __init__(self, *, start_service, kafka_env: dict[str, str], identity) -> None:  # noqa: ANN001
        self.services = start_service.stack(*STACK)
        self.kafka_env, self.identity = kafka_env, identity
        self.topics_prefix = kafka_env["KAFKA_TOPIC_PREFIX"]

    def topic(self, name: str) -> str:
        return f"{self.topics_prefix}{name}"

    async def stream(self, *, after_each=None) -> list[dict]:  # noqa: ANN001
        return await submit_all(self.services["intake"].url, intake_bodies(INTAKES),
                                clerk=self.identity.auth("clerk-6406"), after_each=after_each)

    async def verdict(self, answers: list[dict]) -> Verdict:
        return await judge_stack(answers=answers, services=self.services, identity=self.identity,
                                 timeout=SETTLE_SECONDS)


def leader_of(kafka: KafkaCluster, topic: str, partition: int = 0) -> int:
    """The broker id leading `topic`'s partition now."""
    metadata = admin_client(kafka.harness()).list_topics(topic, timeout=10)
    return metadata.topics[topic].partitions[partition].leader


def pid_of(kafka: KafkaCluster, node_id: int) -> int:
    pids = {node.node_id: node.pid for node in kafka.nodes()}
    assert pids.get(node_id), f"broker {node_id} is not running: {pids}"
    return pids[node_id]


def report(fault: str, verdict: Verdict, answers: list[dict], extra: str = "") -> None:
    referrals = sum(len(a["referrals"]) for a in answers)
    print(f"\nFAULT {fault}: {len(answers)} intakes, {referrals} referrals; {verdict.figures()}{extra}")
    assert verdict.clean, verdict.describe()


# ------------------------------------------------------------------ in make test --


async def test_kill_9_of_the_partition_leader_loses_and_doubles_nothing(start_service, kafka_env, identity):
    stack = Stack(start_service=start_service, kafka_env=kafka_env, identity=identity)
    kafka = cluster()
    topic = stack.topic("intake.submitted")
    victim = leader_of(kafka, topic)
    restarted: list[asyncio.Future] = []

    async def fault(count: int) -> None:
        if count == INTAKES // 3:
            os.kill(pid_of(kafka, victim), signal.SIGKILL)
        elif count == 2 * INTAKES // 3 and not restarted:
            restarted.append(asyncio.get_running_loop().run_in_executor(None, kafka.start_missing))

    answers = await stack.stream(after_each=fault)
    await restarted[0]
    verdict = await stack.verdict(answers)
    report("leader kill -9", verdict, answers, f" (broker {victim} led {topic}[0]; new leader {leader_of(kafka, topic)})")


# ------------------------------------------------------------ make test-faults --


@pytest.mark.fault_matrix
async def test_a_broker_stopped_for_30_seconds_loses_and_doubles_nothing(start_service, kafka_env, identity):
    stack = Stack(start_service=start_service, kafka_env=kafka_env, identity=identity)
    kafka = cluster()
    victim = leader_of(kafka, stack.topic("intake.submitted"))
    resumed: list[asyncio.Task] = []

    async def stop_for_30_seconds() -> None:
        pid = pid_of(kafka, victim)
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(30)
        finally:
            os.kill(pid, signal.SIGCONT)

    async def fault(count: int) -> None:
        if count == INTAKES // 4:
            resumed.append(asyncio.create_task(stop_for_30_seconds()))

    answers = await stack.stream(after_each=fault)
    await resumed[0]
    report("broker SIGSTOP 30 s", await stack.verdict(answers), answers, f" (broker {victim})")


@pytest.mark.fault_matrix
@pytest.mark.parametrize("db_backend", ["postgresql"])
async def test_postgresql_restarted_under_load_loses_and_doubles_nothing(start_service, kafka_env, identity, db_backend):
    if os.environ.get("SONGTOR_TEST_PG_URL"):
        pytest.fail("this test restarts the project's own PostgreSQL (deploy/postgres/pg.sh); unset SONGTOR_TEST_PG_URL")
    stack = Stack(start_service=start_service, kafka_env=kafka_env, identity=identity)
    restarted: list[asyncio.Future] = []

    def restart() -> None:
        subprocess.run(["bash", str(PG_SCRIPT), "stop"], check=True, capture_output=True)
        subprocess.run(["bash", str(PG_SCRIPT), "start"], check=True, capture_output=True)

    async def fault(count: int) -> None:
        if count == INTAKES // 3:
            restarted.append(asyncio.get_running_loop().run_in_executor(None, restart))

    answers = await stack.stream(after_each=fault)
    await restarted[0]
    report("PostgreSQL restart", await stack.verdict(answers), answers)


@pytest.mark.fault_matrix
async def test_every_event_delivered_twice_changes_nothing(start_service, kafka_env, identity):
    stack = Stack(start_service=start_service, kafka_env=kafka_env, identity=identity)
    answers = await stack.stream()
    assert (await stack.verdict(answers)).clean
    bootstrap = kafka_env["KAFKA_BOOTSTRAP_SERVERS"]
    names = ["intake.submitted", "referral.routed", "referral.updated",
             *(f"referral.assigned.{a}" for a in ("employment", "skills", "welfare", "social_security"))]
    injected = 0
    for name in names:
        records = await read_to_end(bootstrap, stack.topic(name))
        await produce_again(bootstrap, stack.topic(name), records)
        injected += len(records)
    await asyncio.to_thread(groups_caught_up, cluster(), group_prefix=kafka_env["KAFKA_GROUP_PREFIX"], timeout=180)
    report("every event twice", await stack.verdict(answers), answers, f" ({injected} events delivered again)")


@pytest.mark.fault_matrix
async def test_an_event_of_a_newer_contract_version_is_dead_lettered_with_its_reason(start_service, kafka_env, identity):
    stack = Stack(start_service=start_service, kafka_env=kafka_env, identity=identity)
    bootstrap = kafka_env["KAFKA_BOOTSTRAP_SERVERS"]
    newer_id = str(uuid.uuid4())

    async def fault(count: int) -> None:
        if count == INTAKES // 2:
            first = (await read_to_end(bootstrap, stack.topic("intake.submitted")))[0]
            event = json.loads(first.value)
            event.update(event_id=newer_id, schema_version=event["schema_version"] + 1)
            await produce(bootstrap, stack.topic("intake.submitted"), [(first.key, json.dumps(event).encode())])

    answers = await stack.stream(after_each=fault)
    verdict = await stack.verdict(answers)
    dead = [r for r in await read_to_end(bootstrap, dead_letter_topic(stack.topic("intake.submitted")))
            if json.loads(r.value)["event_id"] == newer_id]
    reasons = {headers_of(r)["dlq.consumer_group"]: headers_of(r)["dlq.exception_message"] for r in dead}
    assert f"{kafka_env['KAFKA_GROUP_PREFIX']}routing" in reasons, reasons
    assert all("schema_version" in reason for reason in reasons.values()), reasons
    report("newer contract version", verdict, answers, f" (dead-lettered by {sorted(reasons)}: {next(iter(reasons.values()))})")


@pytest.mark.fault_matrix
async def test_a_rolling_restart_of_every_service_loses_and_doubles_nothing(start_service, kafka_env, identity):
    stack = Stack(start_service=start_service, kafka_env=kafka_env, identity=identity)
    rolled: list[asyncio.Future] = []

    def roll() -> None:
        for name in STACK:  # as a deployment rolls them: one at a time, each healthy before the next
            stack.services[name].stop()
            stack.services[name].start()

    async def fault(count: int) -> None:
        if count == INTAKES // 4:
            rolled.append(asyncio.get_running_loop().run_in_executor(None, roll))

    answers = await stack.stream(after_each=fault)
    await rolled[0]
    report("rolling restart", await stack.verdict(answers), answers)
