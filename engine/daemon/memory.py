"""Freed memory handed back to the operating system when an agent's operation ends.

A pass parses YAML and JSON, builds an HTTPS client and may stream a download: megabytes
that Python frees when the pass is over, but that glibc's allocator keeps in the arena of
the thread that used them (each agent's worker thread has its own) instead of returning
them. ``malloc_trim(0)`` returns them: the idle daemon's resident memory is what it holds,
not what its last passes used (issue 17). Without glibc this does nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

__all__ = ["release_free_memory"]


def release_free_memory() -> None:
    """Blocking (a few milliseconds); safe from any thread."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes  # noqa: PLC0415 - only once an operation has run
    import ctypes.util  # noqa: PLC0415

    name = ctypes.util.find_library("c")
    try:
        function: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):  # no libc by that name, or not glibc
        return None
    return function
