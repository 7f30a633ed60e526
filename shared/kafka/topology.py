"""The one declaration of Songtor's Kafka estate: every topic with its settings, every principal
with what it may do. The set-up (shared.kafka.provision) lays it down; each service checks its
own topics against it at start (shared.kafka.topic_check); docs/kafka-security.md explains it.

Grants follow Strimzi's KafkaUser "simple" authorization: a consumer gets Read and Describe on its
topics and Read on its group, a producer Write and Describe on its topics (and IdempotentWrite on
the cluster, which an idempotent producer asks for). Nothing else: no service may create or alter
a topic, and an agency reads its own topic and nothing more.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from shared.agencies import AGENCIES, Agency
from shared.settings import KafkaSettings
from shared.topics import dead_letter_topic

ResourceType = Literal["TOPIC", "GROUP", "CLUSTER"]
Pattern = Literal["LITERAL", "PREFIXED"]
Operation = Literal["READ", "WRITE", "DESCRIBE", "DESCRIBE_CONFIGS", "IDEMPOTENT_WRITE"]

SETUP_PRINCIPAL = "songtor-admin"
SERVICE_PRINCIPALS: Mapping[str, str] = {
    "intake": "songtor-intake",
    "routing": "songtor-routing",
    "agency-adapters": "songtor-agency-adapters",
    "reporting": "songtor-reporting",
    "ops": "songtor-ops",
}
_FOREVER = "-1"
_DAY_MS = 24 * 60 * 60 * 1000


def agency_principal(agency: Agency) -> str:
    """agency-social-security, not agency-social_security: the same login name must be a Kubernetes
    object name too (Strimzi names a KafkaUser's login after the object, deploy/helm)."""
    return f"agency-{agency.replace('_', '-')}"


def agency_group_prefix(*, kafka: KafkaSettings, agency: Agency) -> str:
    """Groups an agency's own system may use, e.g. songtor.welfare.backoffice."""
    return kafka.group(f"{agency}.")


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Acl:
    principal: str  # without the "User:" part
    resource_type: ResourceType
    resource: str
    pattern: Pattern
    operation: Operation


@dataclass(frozen=True, slots=True)
class Usage:
    """What one principal does: consumes (group -> topics), produces, and the narrower rights."""

    principal: str
    consumes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    produces: tuple[str, ...] = ()
    # Reads by assignment, without a group (a rebuild, the dead-letter page).
    reads: tuple[str, ...] = ()
    # Metadata and offsets only, never a record (the lag scan).
    describes: tuple[str, ...] = ()
    describes_groups_prefixed: tuple[str, ...] = ()
    # Groups it names itself (an agency's own consumers).
    groups_prefixed: tuple[str, ...] = ()
    # Topics whose settings it checks at start.
    checks: tuple[str, ...] = ()

    def topics_consumed(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(topic for topics in self.consumes.values() for topic in topics))

    def topics_read(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.topics_consumed(), *self.reads]))


# ---------------------------------------------------------------- topics --


def topic_specs(kafka: KafkaSettings) -> list[TopicSpec]:
    """Event topics keep every event (they are the source of every rebuild); a dead letter waits a
    bounded time for its re-drive. Agency queues stamp records with the broker's clock, so a
    record's timestamp is when it began to wait (the ops scan finds the oldest by timestamp)."""
    topics = kafka.topics
    # A replica that fell behind never becomes leader (it would drop the writes it missed): every
    # topic says so itself, whatever the broker's default.
    base = {"cleanup.policy": "delete", "retention.ms": _FOREVER, "retention.bytes": "-1",
            "min.insync.replicas": str(kafka.min_insync_replicas), "unclean.leader.election.enable": "false"}
    queues = set(topics.all_assigned())
    specs = [
        TopicSpec(name, kafka.partitions, kafka.replication_factor,
                  {**base, "message.timestamp.type": "LogAppendTime" if name in queues else "CreateTime"})
        for name in topics.all_event_topics()
    ]
    # Person keys: compacted, so the log keeps each person's latest key only, and an erasure's
    # tombstone removes the key from the log itself within max.compaction.lag.ms (the broker rolls a
    # compacted topic's segment at its next write after that, so the cleaner may take it), then the
    # tombstone after delete.retention.ms: until then a key the services deleted could still be read
    # back here.
    lag_ms = str(kafka.person_keys_compaction_seconds * 1000)
    specs.append(TopicSpec(topics.person_keys, kafka.partitions, kafka.replication_factor, {
        **base, "cleanup.policy": "compact", "min.compaction.lag.ms": "0", "max.compaction.lag.ms": lag_ms,
        "segment.ms": lag_ms, "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": str(kafka.person_keys_tombstone_seconds * 1000), "message.timestamp.type": "CreateTime",
    }))
    # Erasures asked for and confirmed, consents withdrawn: person_refs only, kept as the record that
    # they were done (and a feed rebuilt from the log must still see every withdrawal).
    specs += [TopicSpec(name, kafka.partitions, kafka.replication_factor, {**base, "message.timestamp.type": "CreateTime"})
              for name in (topics.person_erasures, topics.person_erasures_confirmed, topics.person_consents)]
    dead = {**base, "retention.ms": str(kafka.dead_letter_retention_days * _DAY_MS),
            "message.timestamp.type": "CreateTime"}
    specs += [TopicSpec(dead_letter_topic(s.name), kafka.partitions, kafka.replication_factor, dead) for s in specs]
    return specs


# ------------------------------------------------------------ principals --


def usages(kafka: KafkaSettings) -> list[Usage]:
    t, g = kafka.topics, kafka.group
    assigned = tuple(t.all_assigned())
    services = {
        "intake": Usage(
            SERVICE_PRINCIPALS["intake"],
            consumes={g("intake.routed"): (t.referral_routed,), g("intake.updated"): (t.referral_updated,),
                      g("intake.unroutable"): (t.referral_unroutable,),
                      g("intake.erasures.confirmed"): (t.person_erasures_confirmed,)},
            # Intake issues each person's key (it takes the person in) ahead of the intake it seals,
            # and takes the erasure requests and the withdrawals of consent.
            produces=(t.person_keys, t.intake_submitted, t.person_erasures, t.person_consents),
        ),
        "routing": Usage(
            SERVICE_PRINCIPALS["routing"],
            consumes={g("routing"): (t.intake_submitted,), g("routing.erasures"): (t.person_erasures,)},
            produces=(*assigned, t.referral_routed, t.referral_unroutable, t.person_erasures_confirmed),
        ),
        "agency-adapters": Usage(
            SERVICE_PRINCIPALS["agency-adapters"],
            # The keys open the people of its referrals; routing, which hands the sealed identity
            # on, has none.
            consumes={**{g(f"agency.{agency}"): (t.referral_assigned(agency),) for agency in AGENCIES},
                      g("agency.keys"): (t.person_keys,), g("agency.erasures"): (t.person_erasures,)},
            # A transfer is a new assignment to another agency, announced like routing's.
            produces=(t.referral_updated, t.referral_overdue, *assigned, t.referral_routed, t.person_erasures_confirmed),
        ),
        "reporting": Usage(
            SERVICE_PRINCIPALS["reporting"],
            consumes={g("reporting.intakes"): (t.intake_submitted,), g("reporting.assigned"): assigned,
                      g("reporting.updated"): (t.referral_updated,),
                      g("reporting.unroutable"): (t.referral_unroutable,),
                      g("reporting.overdue"): (t.referral_overdue,), g("reporting.keys"): (t.person_keys,),
                      g("reporting.erasures"): (t.person_erasures,),
                      # The national feed (reporting/national_feed): groups of its own, so its backlog
                      # is its own lag; it stops for a person who withdrew consent (person.consents).
                      g("reporting.feed.intakes"): (t.intake_submitted,), g("reporting.feed.assigned"): assigned,
                      g("reporting.feed.updated"): (t.referral_updated,),
                      g("reporting.feed.consents"): (t.person_consents,)},
            produces=(t.report_published, t.person_erasures_confirmed),
        ),
    }
    events = tuple(t.all_event_topics())
    dead_letters = tuple(dead_letter_topic(name) for name in events)
    ops = Usage(
        SERVICE_PRINCIPALS["ops"],
        # The person keys' offsets too (the lag of the services' key copies), never their records.
        describes=(*events, *dead_letters, *t.person_topics()),
        describes_groups_prefixed=(kafka.group_prefix,),
        # The dead-letter page shows why a message failed and re-drives it to where it came from.
        reads=dead_letters,
        produces=events,
        checks=dead_letters,
    )
    agencies = [
        Usage(agency_principal(agency), reads=(t.referral_assigned(agency),),
              groups_prefixed=(agency_group_prefix(kafka=kafka, agency=agency),))
        for agency in AGENCIES
    ]
    with_checks = [replace(usage, checks=_used_by(usage)) for usage in services.values()]
    return [*with_checks, ops, *agencies]


def _used_by(usage: Usage) -> tuple[str, ...]:
    """What a service checks at start: what it reads and writes, dead-letter twins included (a
    missing one would only show when the first poison message arrives)."""
    return tuple(dict.fromkeys([*usage.topics_read(), *usage.produces,
                                *map(dead_letter_topic, usage.topics_consumed())]))


def usage_of(kafka: KafkaSettings, principal: str) -> Usage:
    for usage in usages(kafka):
        if usage.principal == principal:
            return usage
    raise KeyError(principal)


def service_usage(kafka: KafkaSettings, service: str) -> Usage:
    return usage_of(kafka, SERVICE_PRINCIPALS[service])


def acls_of(usage: Usage) -> list[Acl]:
    who = usage.principal

    def on_topics(names: Iterable[str], *operations: Operation) -> list[Acl]:
        return [Acl(who, "TOPIC", name, "LITERAL", op) for name in dict.fromkeys(names) for op in operations]

    read = usage.topics_read()
    # A consumer that cannot handle a message hands it to the dead-letter twin of its topic.
    writes = [*usage.produces, *map(dead_letter_topic, usage.topics_consumed())]
    acls = [
        *on_topics(read, "READ", "DESCRIBE"),
        *on_topics(writes, "WRITE", "DESCRIBE"),
        *on_topics(usage.describes, "DESCRIBE"),
        *on_topics(usage.checks, "DESCRIBE_CONFIGS"),
        *(Acl(who, "GROUP", group, "LITERAL", "READ") for group in usage.consumes),
        *(Acl(who, "GROUP", prefix, "PREFIXED", "READ") for prefix in usage.groups_prefixed),
        *(Acl(who, "GROUP", prefix, "PREFIXED", "DESCRIBE") for prefix in usage.describes_groups_prefixed),
    ]
    if writes:
        acls.append(Acl(who, "CLUSTER", "kafka-cluster", "LITERAL", "IDEMPOTENT_WRITE"))
    return list(dict.fromkeys(acls))


def all_acls(kafka: KafkaSettings) -> list[Acl]:
    return [acl for usage in usages(kafka) for acl in acls_of(usage)]


def principals() -> list[str]:
    """Every principal the set-up gives a password (the super users are the broker's own)."""
    return [*SERVICE_PRINCIPALS.values(), *(agency_principal(agency) for agency in AGENCIES)]
