"""Giving freed memory back to the operating system after a large, rare piece of work.

Building a province's monthly form makes hundreds of thousands of short-lived objects, in a
worker thread. Once they are freed, glibc's allocator keeps most of the pages they used (in the
worker thread's arena, between chunks still in use) for the process's next allocations: the
service's resident size steps up by a few hundred MB at the first month close and stays there.
`malloc_trim(0)` returns every whole free page of every arena; it costs milliseconds, so it is
called after such work, not on a timer.
"""

import ctypes
import ctypes.util
import logging

logger = logging.getLogger("songtor.memory")


def _libc_trim():  # noqa: ANN202 - a ctypes function, or None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim  # glibc only; musl and macOS have no such function
    except (OSError, AttributeError):
        return None


_TRIM = _libc_trim()


def give_back_memory() -> bool:
    """Return the allocator's free pages to the operating system; False where the C library
    cannot (not glibc), which changes nothing but the process's resident size."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
