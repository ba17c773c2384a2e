"""Memory a thread freed goes back to the system after an operation (engine.daemon.memory)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine.daemon.memory import _malloc_trim, release_free_memory


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_memory_a_worker_thread_freed_is_returned() -> None:
    """Many small objects (as a pass's parsing leaves) freed in a worker thread stay in its
    malloc arena until ``release_free_memory`` trims it."""

    pinned: list[bytearray] = []

    def work() -> None:
        chunks = [bytearray(1000) for _ in range(60_000)]  # ~60 MB in small blocks
        pinned.append(bytearray(1000))  # still used: the arena's top cannot shrink by itself
        del chunks

    if _malloc_trim() is None:
        pytest.skip("not glibc: nothing to trim")
    before = rss_mb()
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    kept = rss_mb() - before
    release_free_memory()
    after = rss_mb() - before
    assert kept > 10, kept  # glibc kept the freed blocks in the thread's arena
    assert after < kept / 2, (kept, after)
    release_free_memory()  # safe to call again
