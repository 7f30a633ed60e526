"""Giving freed memory back to the operating system after a large, rare piece of work.

Large blocks: glibc serves a block above its mmap threshold (128 KiB) from a mapping of its own,
returned whole when freed, but raises that threshold (up to 32 MiB) each time such a block is
freed, after which blocks of a few MB (a filed form's CSV, XLSX and rows, a child's pickled
answer) come from the heap and stay there. `fixed_mmap_threshold()` pins it at 128 KiB.

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


_M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h
_MMAP_THRESHOLD = 128 * 1024


def _libc(function: str):  # noqa: ANN202 - a ctypes function, or None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return getattr(ctypes.CDLL(name), function)  # glibc only; musl and macOS have no such functions
    except (OSError, AttributeError):
        return None


_TRIM, _MALLOPT = _libc("malloc_trim"), _libc("mallopt")


def fixed_mmap_threshold() -> bool:
    """Blocks of 128 KiB and more always from their own mappings, so freeing one returns it
    (call once at start-up); False where the C library cannot."""
    return _MALLOPT is not None and _MALLOPT(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) == 1


def give_back_memory() -> bool:
    """Return the allocator's free pages to the operating system; False where the C library
    cannot (not glibc), which changes nothing but the process's resident size."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
