"""Every log line written while a message is handled carries the intake id it descends from
(the event's `correlation_id`), in every service, without each handler passing it along."""

import json
from types import TracebackType
from typing import Any

from faststream import BaseMiddleware

from shared.logs import CORRELATION_ID


class CorrelationMiddleware(BaseMiddleware):
    """Broker middleware: FastStream builds one per consumed message."""

    _token: Any = None

    async def on_receive(self) -> None:
        self._token = CORRELATION_ID.set(_correlation_of(getattr(self.msg, "value", None)))

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        if self._token is not None:
            CORRELATION_ID.reset(self._token)
        return False


def _correlation_of(value: bytes | None) -> str | None:
    # Poison must not break logging: anything unreadable simply has no correlation id.
    try:
        found = json.loads(value or b"").get("correlation_id")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) and len(found) <= 100 else None
