"""The engine's one source of time: the wall clock, a monotonic reading, and sleep.

Everything that decides by time (maintenance windows, the health check's polls, lock waits,
the channel's cache, the daemon's next check, how long an update took) takes a ``Clock``.
Production passes ``SYSTEM_CLOCK``; tests and the demo pass a ``ManualClock``, which moves
only when told to or when something sleeps on it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

__all__ = ["SYSTEM_CLOCK", "Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The wall-clock time, timezone-aware (UTC)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for deadlines and durations."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK: Final = SystemClock()


class ManualClock:
    """A clock that stands still until ``advance`` or ``sleep`` moves it (thread-safe).

    ``on_sleep`` is called with the number of the sleep (1, 2, ...) before the clock moves,
    so a test can change the world between two polls.
    """

    def __init__(
        self,
        start: datetime | None = None,
        *,
        on_sleep: Callable[[int], None] | None = None,
    ) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError(f"ManualClock needs an aware start time, not {start!r}")
        self._start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._elapsed = 0.0
        self._on_sleep = on_sleep
        self._lock = threading.Lock()
        self.sleeps = 0

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps += 1
            number = self.sleeps
        if self._on_sleep is not None:
            self._on_sleep(number)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._elapsed += max(0.0, seconds)

    def set(self, when: datetime) -> None:
        """Jump the wall clock to ``when`` (the monotonic reading moves with it, never back)."""
        with self._lock:
            self._elapsed = max(self._elapsed, (when - self._start).total_seconds())
