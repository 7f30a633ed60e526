"""The AsyncAPI 3.0 document of every Songtor topic, built from the event models and the topic
names, so that the published contract can never drift from what the services really send.

`python -m shared.contracts.asyncapi > docs/asyncapi.json` writes the committed copy (a unit
test regenerates and compares it); every service also serves it at `GET /asyncapi.json`.
"""

import inspect
import json
import sys
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

import shared.contracts as contracts
from shared.contracts.envelope import EventEnvelope
from shared.kafka.dead_letter import DeadLetterHeaders
from shared.topics import Topics, dead_letter_topic

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
SCHEMA_REF = "#/components/schemas/{model}"

# The record key of each event: Kafka keeps one key's events in order on one partition, and a
# consumer needs to know which id that is. An event type missing here fails the unit test.
KEY_FIELDS: dict[str, str] = {
    "intake.submitted": "intake_id",
    "referral.assigned": "referral_id",
    "referral.routed": "referral_id",
    "referral.updated": "referral_id",
    "referral.unroutable": "referral_id",
    "referral.overdue": "referral_id",
    "report.published": "report_key",
    "person.key_issued": "person_ref",
    "person.erasure_requested": "person_ref",
    "person.erasure_confirmed": "person_ref",
    "person.consent_withdrawn": "person_ref",
}
# Topics named otherwise than the event they carry.
_EVENT_OF_TOPIC = {"person.keys": "person.key_issued", "person.erasures": "person.erasure_requested",
                   "person.erasures.confirmed": "person.erasure_confirmed",
                   "person.consents": "person.consent_withdrawn"}

# What each dlq.* header says; the names themselves come from the middleware that writes them.
_DEAD_LETTER_HEADERS: dict[str, str] = {
    DeadLetterHeaders.ORIGINAL_TOPIC: "Topic the message was first published on (where a re-drive sends it back).",
    DeadLetterHeaders.ORIGINAL_PARTITION: "Partition of the original record, as a decimal string.",
    DeadLetterHeaders.ORIGINAL_OFFSET: "Offset of the original record, as a decimal string.",
    DeadLetterHeaders.CONSUMER_GROUP: "Consumer group whose handler refused the message.",
    DeadLetterHeaders.EXCEPTION_CLASS: "Python class of the error, e.g. ValidationError.",
    DeadLetterHeaders.EXCEPTION_MESSAGE: "Why it failed (at most 1,000 characters; never the message's "
    "personal data: validation errors name the field, not the value).",
    DeadLetterHeaders.SERVICE: "Service that dead-lettered the message.",
    DeadLetterHeaders.ATTEMPTS: "How many times the consumer tried the message and failed, as a decimal string: "
    "1 for one that can never succeed (it does not decode or validate), the retry bound for one that kept "
    "failing. Absent on dead letters written before it existed.",
}
# Dead letters written before a header existed do not carry it.
_OPTIONAL_DEAD_LETTER_HEADERS = {DeadLetterHeaders.ATTEMPTS}
_DEAD_LETTER_EXAMPLE = {
    DeadLetterHeaders.ORIGINAL_TOPIC: "referral.assigned.skills",
    DeadLetterHeaders.ORIGINAL_PARTITION: "2",
    DeadLetterHeaders.ORIGINAL_OFFSET: "1187",
    DeadLetterHeaders.CONSUMER_GROUP: "songtor.agency.skills",
    DeadLetterHeaders.EXCEPTION_CLASS: "ValidationError",
    DeadLetterHeaders.EXCEPTION_MESSAGE: "1 validation error(s): need_code: Field required",
    DeadLetterHeaders.SERVICE: "agency-adapters",
    DeadLetterHeaders.ATTEMPTS: "1",
}


def event_models() -> dict[str, type[EventEnvelope]]:
    """Every exported event class by its `event_type`: new contracts are picked up by exporting
    them from `shared.contracts`, with nothing to register here."""
    found: dict[str, type[EventEnvelope]] = {}
    for name in contracts.__all__:
        model = getattr(contracts, name)
        if isinstance(model, type) and issubclass(model, EventEnvelope) and model is not EventEnvelope:
            found[model.model_fields["event_type"].default] = model
    return found


def event_type_of(*, topic: str, prefix: str = "") -> str:
    """`referral.assigned.skills` carries `referral.assigned`: the agency is in the topic only."""
    base = topic.removeprefix(prefix)
    return base.rsplit(".", 1)[0] if base.startswith("referral.assigned.") else _EVENT_OF_TOPIC.get(base, base)


def _doc(model: type[BaseModel]) -> str:
    # cleandoc, not strip: a docstring's indented lines would read as code blocks in Markdown.
    return inspect.cleandoc(model.__doc__ or "")


def _channel_id(topic: str) -> str:
    head, *rest = topic.replace("_", ".").split(".")
    return head + "".join(part.capitalize() for part in rest)


def _channel_description(*, topic: str, model: type[EventEnvelope], topics: Topics) -> str:
    text = _doc(model)
    agency = topic.removeprefix(topics.prefix).removeprefix("referral.assigned.")
    if topic in topics.all_assigned():
        text += f" This channel carries the referrals of agency `{agency}` only; read it with that agency's own consumer group."
    return text


def _kafka_binding(*, topic: str, partitions: int) -> dict[str, Any]:
    return {"kafka": {"topic": topic, "partitions": partitions, "bindingVersion": KAFKA_BINDING_VERSION}}


def _schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    # Serialization mode: the schema of the JSON on the wire (what model_dump_json writes).
    _, top = models_json_schema([(model, "serialization") for model in models], ref_template=SCHEMA_REF)
    return top.get("$defs", {})


def _event_message(*, model: type[EventEnvelope], event_type: str) -> dict[str, Any]:
    key_field = KEY_FIELDS[event_type]
    key_description = model.model_fields[key_field].description or ""
    return {
        "name": model.__name__,
        "title": f"{event_type} v{model.model_fields['schema_version'].default}",
        "summary": _doc(model).splitlines()[0],
        "description": _doc(model),
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {"content-type": {"type": "string", "const": "application/json"}},
        },
        "payload": {"$ref": SCHEMA_REF.format(model=model.__name__)},
        "correlationId": {
            "description": "The intake this event descends from.",
            "location": "$message.payload#/correlation_id",
        },
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": f"The event's `{key_field}` (UTF-8): {key_description}",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        # No whole-message example: not every field has one yet, and a partial example would
        # mislead; the field examples are in the payload schema.
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": "DeadLetter",
        "title": "A message a consumer could not process",
        "summary": "The original record, byte for byte, with dlq.* headers saying where from and why.",
        "description": (
            "A consumer that cannot process a record publishes it unchanged to `<topic>.dlq`, with "
            "the same key, and moves on: at once when it does not decode or validate, after a bounded "
            "number of retries (`dlq.attempts`) when its processing keeps failing otherwise; a database "
            "or broker that does not answer is retried until it does, never dead-lettered. The payload is whatever the "
            "original topic carried and may not match that topic's schema: that is usually why "
            "it is here. Operators re-drive it to `dlq.original_topic` after a fix."
        ),
        "headers": {
            "type": "object",
            "required": [name for name in _DEAD_LETTER_HEADERS if name not in _OPTIONAL_DEAD_LETTER_HEADERS],
            "properties": {
                name: {"type": "string", "description": description}
                for name, description in _DEAD_LETTER_HEADERS.items()
            },
        },
        "payload": {"description": "The original record's value, unchanged (normally JSON)."},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The original record's key, unchanged."},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "examples": [{"name": "invalid referral", "headers": _DEAD_LETTER_EXAMPLE}],
    }


def build_asyncapi(*, topics: Topics | None = None, partitions: int = 3,
                   bootstrap_servers: str = "kafka:9092") -> dict[str, Any]:
    """The whole document; deterministic, so the committed copy can be compared byte for byte."""
    topics = topics or Topics()
    models = event_models()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {"DeadLetter": _dead_letter_message()}
    for topic in topics.published_topics():
        event_type = event_type_of(topic=topic, prefix=topics.prefix)
        model = models[event_type]
        messages[model.__name__] = _event_message(model=model, event_type=event_type)
        for address, message, description in (
            (topic, model.__name__, _channel_description(topic=topic, model=model, topics=topics)),
            (dead_letter_topic(topic), "DeadLetter", f"Dead letters of `{topic}`."),
        ):
            channel = _channel_id(address)
            channels[channel] = {
                "address": address,
                "title": address,
                "description": description,
                "messages": {message: {"$ref": f"#/components/messages/{message}"}},
                "bindings": _kafka_binding(topic=address, partitions=partitions),
            }
            operations[f"publish{channel[0].upper()}{channel[1:]}"] = {
                "action": "send",
                "title": f"Songtor publishes on {address}",
                "channel": {"$ref": f"#/channels/{channel}"},
                "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}],
            }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:songtor:events",
        "info": {
            "title": "Songtor events",
            "version": "1.0.0",
            "description": (
                "Every Kafka topic of Songtor, generated from shared/contracts and shared/topics.py. "
                "Events are JSON; consumers are tolerant readers (ignore unknown fields); a breaking "
                "change is a new schema_version on the same topic. Each agency reads its own "
                "`referral.assigned.<agency>` topic with its own consumer group and reports "
                "its moves through Songtor's agency API or signed callback (docs/agency-it.md), which "
                "publish them as `referral.updated`; `referral.routed` repeats each assignment without "
                "the person, for readers that need only where a referral went (least knowledge). "
                "A deployment may prefix every topic name."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": bootstrap_servers,
                "protocol": "kafka-secure",
                "description": "The Kafka cluster (docker-compose: kafka:9092; `make run`: 127.0.0.1:9092): TLS, "
                               "SASL/SCRAM-SHA-512 login, one principal per service and per agency, each allowed "
                               "only its own topics and groups (docs/kafka-security.md).",
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "securitySchemes": {
                "scram": {"type": "scramSha512", "description": "An agency logs in as agency-<agency> with the "
                          "password its provincial office hands over; it may read referral.assigned.<agency> in "
                          "consumer groups named songtor.<agency>.<anything>, and nothing else."},
            },
            "messages": dict(sorted(messages.items())),
            "schemas": _schemas([models[name] for name in sorted(models)]),
        },
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(build_asyncapi()))
