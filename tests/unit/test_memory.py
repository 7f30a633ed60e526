"""shared/memory.py: freed pages go back to the system where the C library can do it (glibc)."""

import gc
import platform
import threading

from shared.memory import fixed_mmap_threshold, give_back_memory


def _resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def test_freed_pages_of_a_worker_thread_go_back_to_the_system():
    if platform.libc_ver()[0] != "glibc":
        assert give_back_memory() is False
        return

    survivors: list[str] = []

    def churn() -> None:
        # Many mid-sized strings (beyond Python's small-object allocator), most freed and a few
        # kept, which leaves holes in the worker thread's arena as a form build does.
        dropped = []
        for n in range(200_000):
            (survivors if n % 50 == 0 else dropped).append("x" * 600 + str(n))
        dropped.clear()

    worker = threading.Thread(target=churn)
    worker.start()
    worker.join()
    gc.collect()
    before = _resident_mib()
    assert give_back_memory() is True
    assert _resident_mib() < before - 50, "malloc_trim gave nothing back"
    assert len(survivors) == 4_000


def test_large_blocks_come_from_their_own_mappings_once_the_threshold_is_fixed():
    if platform.libc_ver()[0] != "glibc":
        assert fixed_mmap_threshold() is False
        return
    assert fixed_mmap_threshold() is True
    before = _resident_mib()
    for _ in range(3):
        # glibc would raise its threshold after the first of these is freed and serve the next
        # from the heap; pinned, each is mapped and unmapped whole.
        block = bytearray(8 * 2**20)
        block[::4096] = b"x" * len(block[::4096])
        del block
    assert _resident_mib() < before + 4
