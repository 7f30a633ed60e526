"""At start, a service checks that every topic it uses exists with the settings the declaration
(shared/kafka/topology.py) gives it, and refuses to start otherwise: a service that ran on a topic
with one partition too few, or a week's retention instead of forever, would look healthy while it
lost order or history. It never creates or alters a topic: that is the set-up's job, and its login
holds no right to."""

from collections.abc import Mapping

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.kafka.connection import client_options
from shared.kafka.topology import TopicSpec, topic_specs
from shared.settings import KafkaSettings

_NO_SUCH_TOPIC, _NOT_ALLOWED = 3, 29
_FIX = "run the set-up (python -m shared.kafka.provision apply; docs/kafka-security.md)"


class TopicSetupError(RuntimeError):
    pass


def problems_with(*, spec: TopicSpec, error_code: int, partitions: list[Mapping],
                  config: Mapping[str, str | None]) -> list[str]:
    """Why one topic is unfit, in words that name it; empty when it is as declared."""
    if error_code == _NO_SUCH_TOPIC:
        return [f"topic {spec.name} does not exist"]
    if error_code == _NOT_ALLOWED:
        return [f"topic {spec.name}: this service's login may not describe it (its ACLs are missing)"]
    if error_code:
        return [f"topic {spec.name}: the broker answered error {error_code}"]
    found: list[str] = []
    if len(partitions) < spec.partitions:
        found.append(f"topic {spec.name} has {len(partitions)} partitions, expected at least {spec.partitions}")
    replicas = min((len(p.get("replicas", ())) for p in partitions), default=0)
    if replicas < spec.replication_factor:
        found.append(f"topic {spec.name} has replication factor {replicas}, expected at least {spec.replication_factor}")
    for key, wanted in spec.config.items():
        actual = config.get(key)
        if key == "min.insync.replicas":
            if actual is None or int(actual) < int(wanted):
                found.append(f"topic {spec.name} has {key}={actual}, expected at least {wanted}")
        elif actual != wanted:
            found.append(f"topic {spec.name} has {key}={actual}, expected {wanted}")
    return found


async def check_topics(*, kafka: KafkaSettings, names: list[str], service: str) -> None:
    """Raises TopicSetupError naming each topic that is missing or set up otherwise than declared."""
    wanted = set(names)
    specs = [spec for spec in topic_specs(kafka) if spec.name in wanted]
    admin = AIOKafkaAdminClient(client_id=f"songtor-{service}-check", **client_options(kafka))
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics([s.name for s in specs])}
        present = [s.name for s in specs if not described.get(s.name, {}).get("error_code")]
        configs = await _configs(admin, present) if present else {}
    finally:
        await admin.close()
    problems = [
        problem
        for spec in specs
        for problem in problems_with(
            spec=spec, error_code=described.get(spec.name, {}).get("error_code", _NO_SUCH_TOPIC),
            partitions=described.get(spec.name, {}).get("partitions") or [], config=configs.get(spec.name, {}))
    ]
    if problems:
        raise TopicSetupError(f"{service} does not start: " + "; ".join(problems) + f". To fix: {_FIX}.")


async def _configs(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str | None]]:
    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
    found: dict[str, dict[str, str | None]] = {}
    for response in responses:
        for error_code, error_message, _type, name, entries in response.resources:
            if error_code:
                raise TopicSetupError(f"topic {name}: its settings cannot be read ({error_message or error_code}); "
                                      f"this service's login needs DescribeConfigs on it. To fix: {_FIX}.")
            found[name] = {entry[0]: entry[1] for entry in entries}
    return found
