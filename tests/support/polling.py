import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T], *, until: Callable[[T], bool], timeout: float, interval: float = 0.3) -> T:
    """Poll `probe` until `until(result)` holds; fail with the last result seen."""
    deadline = time.monotonic() + timeout
    result = probe()
    while not until(result):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last: {result!r}"[:3000])
        time.sleep(interval)
        result = probe()
    return result


async def eventually_async(probe: Callable[[], Awaitable[bool]], *, timeout: float, interval: float = 0.3) -> None:
    """Await `probe` until it answers True, in the test's own event loop (for in-process apps)."""
    import asyncio

    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
