"""The set-up: lays the declaration (shared/kafka/topology.py) down on a cluster — topics with their
settings, a SCRAM login per principal, and exactly the declared ACLs. The same code path serves
`make run`, the tests, docker-compose and a ministry's own cluster (docs/kafka-security.md):

    python -m shared.kafka.provision apply      topics, logins, ACLs (idempotent; removes ACLs of our
                                                principals in this namespace that the declaration lacks)
    python -m shared.kafka.provision rotate P   a new password for principal P, live, nobody else touched
    python -m shared.kafka.provision show       the plan, as kafka-acls would list it; changes nothing

It logs in as the set-up principal (KAFKA_USERNAME/KAFKA_PASSWORD_FILE, a super user or one with
Create, Alter and AlterConfigs) — the only login that holds those rights. Passwords are read from,
or with --generate-passwords written to, KAFKA_SETUP_SECRETS_DIR/<principal>.password; never printed.
"""

import argparse
import logging
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient, AlterConfigOpType, ConfigEntry,
    ConfigResource, NewPartitions, NewTopic, ResourcePatternType, ResourceType, ScramCredentialInfo, ScramMechanism,
    UserScramCredentialUpsertion,
)
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.kafka.connection import credentials
from shared.kafka.topology import Acl, TopicSpec, all_acls, principals, topic_specs
from shared.settings import KafkaSettings

logger = logging.getLogger("songtor.kafka.provision")
_TIMEOUT = 30.0
_SCRAM_ITERATIONS = 8192


class SetupSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_SETUP_", extra="ignore")

    secrets_dir: Path = Field(description="One <principal>.password file per principal.")
    generate_passwords: bool = Field(default=False, description="Make a password for a principal that has no "
                                     "file yet (local set-ups; a ministry's cluster brings its own).")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)


@dataclass
class Outcome:
    created_topics: list[str] = field(default_factory=list)
    altered_topics: list[str] = field(default_factory=list)
    created_users: list[str] = field(default_factory=list)
    added_acls: int = 0
    removed_acls: int = 0

    def summary(self) -> str:
        return (f"topics created {len(self.created_topics)}, aligned {len(self.altered_topics)}; "
                f"logins created {len(self.created_users)}; ACLs added {self.added_acls}, removed {self.removed_acls}")


class SetupError(RuntimeError):
    pass


def librdkafka_config(kafka: KafkaSettings) -> dict[str, object]:
    """The login of a confluent-kafka client (admin, consumer) from the settings."""
    config: dict[str, object] = {"bootstrap.servers": kafka.bootstrap_servers,
                                 "security.protocol": kafka.security_protocol, "socket.timeout.ms": 10000}
    if kafka.security_protocol.startswith("SASL"):
        username, password = credentials(kafka)
        config.update({"sasl.mechanism": kafka.sasl_mechanism, "sasl.username": username, "sasl.password": password})
    if kafka.ssl_cafile:
        config["ssl.ca.location"] = str(kafka.ssl_cafile)
    return config


def admin_client(kafka: KafkaSettings) -> AdminClient:
    return AdminClient(librdkafka_config(kafka))


def _wait(futures: dict) -> dict:  # noqa: ANN001
    return {key: future.result(timeout=_TIMEOUT) for key, future in futures.items()}


# ---------------------------------------------------------------- topics --


def ensure_topics(admin: AdminClient, specs: list[TopicSpec], outcome: Outcome) -> None:
    existing = admin.list_topics(timeout=_TIMEOUT).topics
    missing = [spec for spec in specs if spec.name not in existing]
    if missing:
        _wait(admin.create_topics([NewTopic(s.name, s.partitions, s.replication_factor, config=dict(s.config))
                                   for s in missing], operation_timeout=_TIMEOUT))
        _until_led(admin, [spec.name for spec in missing])
        outcome.created_topics += [spec.name for spec in missing]
    present = [spec for spec in specs if spec.name in existing]
    for spec in present:
        found = existing[spec.name]
        replicas = min(len(p.replicas) for p in found.partitions.values())
        if replicas < spec.replication_factor:
            raise SetupError(f"topic {spec.name} has {replicas} replica(s), the declaration wants "
                             f"{spec.replication_factor}: reassign its partitions (kafka-reassign-partitions) first")
        if len(found.partitions) < spec.partitions:
            _wait(admin.create_partitions([NewPartitions(spec.name, spec.partitions)]))
            outcome.altered_topics.append(spec.name)
    if not present:
        return
    described = _wait(admin.describe_configs([ConfigResource(ResourceType.TOPIC, s.name) for s in present]))
    configs = {resource.name: entries for resource, entries in described.items()}
    for spec in present:
        wrong = {key: value for key, value in spec.config.items()
                 if getattr(configs[spec.name].get(key), "value", None) != value}
        if wrong:
            resource = ConfigResource(ResourceType.TOPIC, spec.name, incremental_configs=[
                ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET) for key, value in wrong.items()])
            _wait(admin.incremental_alter_configs([resource]))
            if spec.name not in outcome.altered_topics:
                outcome.altered_topics.append(spec.name)


# ---------------------------------------------------------------- logins --


def password_file(secrets_dir: Path, principal: str) -> Path:
    return secrets_dir / f"{principal}.password"


def _write_secret(path: Path, password: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".new")
    temporary.touch(mode=0o600)
    temporary.write_text(password + "\n", encoding="utf-8")
    temporary.replace(path)  # readers see the old password or the new one, never half of one


def _upsert(admin: AdminClient, passwords: dict[str, str]) -> None:
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, _SCRAM_ITERATIONS)
    _wait(admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(user, info, password.encode()) for user, password in passwords.items()]))


def ensure_logins(admin: AdminClient, setup: SetupSettings, outcome: Outcome) -> None:
    """A login for every principal that has none. Existing logins are left alone (a password is
    changed by `rotate` only), unless its file is gone and we may make a new one."""
    try:
        listed = admin.describe_user_scram_credentials().result(timeout=_TIMEOUT)  # no users named: one future
        known = {user for user, description in listed.items()
                 if description is not None and description.scram_credential_infos}
    except KafkaException:  # older brokers answer "no such user" as an error for the whole request
        known = set()
    wanted: dict[str, str] = {}
    for principal in principals():
        path = password_file(setup.secrets_dir, principal)
        if path.exists():
            if principal not in known:
                wanted[principal] = path.read_text(encoding="utf-8").strip()
            continue
        if not setup.generate_passwords:
            raise SetupError(f"no password for {principal}: put one in {path} (or run with --generate-passwords)")
        wanted[principal] = secrets.token_hex(24)
        _write_secret(path, wanted[principal])
    if wanted:
        _upsert(admin, wanted)
        outcome.created_users += sorted(wanted)


def rotate(admin: AdminClient, setup: SetupSettings, principal: str, *, new_password: str | None = None) -> Path:
    """Gives one principal a new password at once: its established sessions end at their next
    re-authentication (connections.max.reauth.ms), nobody else's login changes."""
    if principal not in principals():
        raise SetupError(f"{principal} is not a principal of the declaration: {', '.join(principals())}")
    password = new_password or secrets.token_hex(24)
    _upsert(admin, {principal: password})
    path = password_file(setup.secrets_dir, principal)
    _write_secret(path, password)
    return path


# ------------------------------------------------------------------ ACLs --


# librdkafka names the cluster resource BROKER (the same code, 4, in Kafka's protocol).
_RESOURCE = {"TOPIC": ResourceType.TOPIC, "GROUP": ResourceType.GROUP, "CLUSTER": ResourceType.BROKER}


def _binding(acl: Acl) -> AclBinding:
    return AclBinding(_RESOURCE[acl.resource_type], acl.resource, ResourcePatternType[acl.pattern],
                      f"User:{acl.principal}", "*", AclOperation[acl.operation], AclPermissionType.ALLOW)


_EVERY_ACL = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                              AclOperation.ANY, AclPermissionType.ANY)


def _delete_acls(admin: AdminClient, bindings: list[AclBinding]) -> None:
    _wait(admin.delete_acls([AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host,
                                              b.operation, b.permission_type) for b in bindings]))


def _ours(binding: AclBinding, *, names: set[str], kafka: KafkaSettings) -> bool:
    """A binding this namespace's set-up owns: one of our principals, on one of our names (other
    namespaces on the same cluster, e.g. parallel test runs, keep theirs)."""
    if binding.principal.removeprefix("User:") not in names:
        return False
    if binding.restype == ResourceType.BROKER:
        return False  # shared by every namespace; never taken away here
    prefix = kafka.topic_prefix if binding.restype == ResourceType.TOPIC else kafka.group_prefix
    return binding.name.startswith(prefix)


def ensure_acls(admin: AdminClient, kafka: KafkaSettings, outcome: Outcome) -> None:
    wanted = {_binding(acl) for acl in all_acls(kafka)}
    names = set(principals())
    every = admin.describe_acls(_EVERY_ACL).result(timeout=_TIMEOUT)
    present = {b for b in every if _ours(b, names=names, kafka=kafka)}
    cluster = {b for b in every if b.restype == ResourceType.BROKER}
    missing = [b for b in wanted if b not in present and b not in cluster]
    stale = [b for b in present if b not in wanted]
    if missing:
        _wait(admin.create_acls(missing))
        _until_present(admin, missing)
    if stale:
        _delete_acls(admin, stale)
    outcome.added_acls, outcome.removed_acls = len(missing), len(stale)


def _until_present(admin: AdminClient, bindings: list[AclBinding]) -> None:
    """A created ACL is in force once the broker's authorizer has it, a moment after the controller
    took it: a service started right after the set-up would otherwise be refused."""
    deadline = time.monotonic() + _TIMEOUT
    while not set(bindings) <= set(admin.describe_acls(_EVERY_ACL).result(timeout=_TIMEOUT)):
        if time.monotonic() > deadline:
            raise SetupError("the broker did not show the new ACLs within 30 s")
        time.sleep(0.1)


def _until_led(admin: AdminClient, names: list[str]) -> None:
    """A topic just created has no partition leader for a moment; a consumer started then fails."""
    deadline = time.monotonic() + _TIMEOUT
    while True:
        topics = admin.list_topics(timeout=_TIMEOUT).topics
        pending = [n for n in names if n not in topics or topics[n].error is not None
                   or any(p.leader < 0 for p in topics[n].partitions.values())]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise SetupError(f"topics without a leader after 30 s: {', '.join(pending)}")
        time.sleep(0.1)


def apply(setup: SetupSettings) -> Outcome:
    outcome = Outcome()
    admin = admin_client(setup.kafka)
    ensure_topics(admin, topic_specs(setup.kafka), outcome)
    ensure_logins(admin, setup, outcome)
    ensure_acls(admin, setup.kafka, outcome)
    return outcome


def remove_namespace(setup: SetupSettings) -> None:
    """Takes a namespace away again: its topics, its consumer groups and the ACLs of our principals
    on them (a test's, or a deployment being retired). Logins stay: other namespaces share them.
    Refuses the empty prefix, which would be the whole estate."""
    kafka = setup.kafka
    if not kafka.topic_prefix or not kafka.group_prefix or kafka.group_prefix == "songtor.":
        raise SetupError("remove_namespace needs a topic and group prefix of its own")
    admin = admin_client(kafka)
    names = set(principals())
    ours = [b for b in admin.describe_acls(_EVERY_ACL).result(timeout=_TIMEOUT) if _ours(b, names=names, kafka=kafka)]
    if ours:
        _delete_acls(admin, ours)
    groups = [g.group_id for g in admin.list_consumer_groups().result(timeout=_TIMEOUT).valid
              if g.group_id.startswith(kafka.group_prefix)]
    if groups:
        for future in admin.delete_consumer_groups(groups).values():
            future.exception(timeout=_TIMEOUT)  # a group still in use stays; its topics go anyway
    topics = [name for name in admin.list_topics(timeout=_TIMEOUT).topics if name.startswith(kafka.topic_prefix)]
    if topics:
        _wait(admin.delete_topics(topics, operation_timeout=_TIMEOUT))


def describe_plan(kafka: KafkaSettings) -> str:
    lines = [f"{s.name}  partitions={s.partitions} replicas={s.replication_factor} "
             + " ".join(f"{k}={v}" for k, v in sorted(s.config.items())) for s in topic_specs(kafka)]
    lines += [f"User:{a.principal} {a.operation} {a.resource_type}:{a.pattern}:{a.resource}" for a in all_acls(kafka)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.kafka.provision", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["apply", "rotate", "show"])
    parser.add_argument("principal", nargs="?", help="rotate: whose password")
    parser.add_argument("--generate-passwords", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="provision: %(message)s", stream=sys.stderr)
    if args.command == "show":
        print(describe_plan(KafkaSettings()))
        return 0
    setup = SetupSettings(**({"generate_passwords": True} if args.generate_passwords else {}))
    try:
        if args.command == "apply":
            logger.info("%s on %s", apply(setup).summary(), setup.kafka.bootstrap_servers)
        else:
            if not args.principal:
                parser.error("rotate needs the principal, e.g. agency-welfare")
            path = rotate(admin_client(setup.kafka), setup, args.principal)
            logger.info("new password for %s is in effect and written to %s", args.principal, path)
    except (SetupError, KafkaException, ValueError) as exc:
        logger.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
