"""The producer's topic metadata, kept whole (a workaround for aiokafka 0.14).

aiokafka starts by tracking "all topics" (an empty set) and, the first time it meets a topic it
does not know (one not created yet, or not ours to write), narrows that to the one topic: its next
metadata answer then holds that topic alone, every other topic loses its leader, and batches
already handed over for them fail 40 s later with NotLeaderForPartitionError. An outbox row for a
missing topic would so hold up every other row for 40 s (tests/integration/test_outbox_refused_rows.py).
"""

from typing import Any

_TRACKED_TOPICS = "songtor_tracked_topics"


def track_topics(broker: Any, topics: set[str]) -> None:
    """Have the producer keep metadata of `topics` and of every topic it knows, before sending to them.

    Every sender of a process (the outbox relay, the dead-letter desk) goes through here, so the
    set given to aiokafka only grows."""
    client = _producer_client(broker)
    if client is None:
        return
    tracked: set[str] = broker.context.get(_TRACKED_TOPICS) or set()
    wanted = topics - tracked
    if not wanted:
        return
    tracked |= wanted | set(client.cluster.topics())
    broker.context.set_global(_TRACKED_TOPICS, tracked)
    client.set_topics(tracked)


def _producer_client(broker: Any) -> Any | None:
    # FastStream 0.7 keeps its aiokafka producer at config.producer._producer.producer; the test
    # broker has none, and neither has a broker before start.
    state = getattr(getattr(getattr(broker, "config", None), "producer", None), "_producer", None)
    return getattr(getattr(state, "producer", None), "client", None)
