"""Background loops of the services (the overdue watch, the month close): run a job now and then
every so often, for the life of the process."""

import asyncio
import logging
from collections.abc import Awaitable, Callable


async def every(seconds: float, job: Callable[[], Awaitable[object]], *, what: str, logger: logging.Logger) -> None:
    """Until cancelled. A failed run is logged and retried at the next turn: a database or broker
    outage must not end the loop."""
    while True:
        try:
            await job()
        except Exception:  # noqa: BLE001
            logger.warning("%s failed; will retry", what, exc_info=True)
        await asyncio.sleep(seconds)
