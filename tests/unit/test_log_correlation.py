"""Log lines written while a message is handled carry its correlation id; poison does not break
logging; outside a message there is none."""

import json
import logging

from shared.kafka.correlation import CorrelationMiddleware, _correlation_of
from shared.logs import CORRELATION_ID, JsonFormatter


class Record:
    def __init__(self, value: bytes) -> None:
        self.value = value


def line(message: str, **extra: str) -> dict:
    record = logging.LogRecord("songtor.test", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return json.loads(JsonFormatter(service="test").format(record))


async def test_a_line_inside_a_message_carries_the_intake_id_and_none_after():
    scope = CorrelationMiddleware(Record(b'{"correlation_id": "intake-42", "person": {}}'), context=None)
    async with scope:
        assert line("routed")["correlation_id"] == "intake-42"
        assert line("explicit", correlation_id="other")["correlation_id"] == "other"
    assert "correlation_id" not in line("idle")
    assert CORRELATION_ID.get() is None


def test_poison_has_no_correlation_id_and_raises_nothing():
    for value in (b"not json", b"[1, 2]", b"", None, b'{"correlation_id": 7}', ("{\"correlation_id\": \"" + "x" * 500 + "\"}").encode()):
        assert _correlation_of(value) is None
