"""One lock per agent namespace: ``flock`` on ``update.lock``, the file teleport-update locks.

Shepherd and ``teleport-update`` therefore exclude each other. Who holds the lock is written
to a holder file in Shepherd's state dir so a waiting command can say so.

    with NamespaceLock(layout.lock_file, layout.state_dir / "lock-holder").acquire(
        timeout=30, who="shepherd update"
    ):
        ...
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import LockTimeout

__all__ = ["NamespaceLock"]

_SOMEONE_ELSE = "another process (perhaps teleport-update)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class NamespaceLock:
    def __init__(
        self,
        lock_file: Path,
        holder_file: Path,
        *,
        clock: Clock = SYSTEM_CLOCK,
        poll_seconds: float = 0.05,
    ) -> None:
        self.lock_file = lock_file
        self.holder_file = holder_file
        self._clock = clock
        self._poll = poll_seconds

    def holder(self) -> str:
        """Who holds (or last held) the lock, in words."""
        try:
            data = json.loads(self.holder_file.read_text())
            text = f"pid {data['pid']} ({data['who']}, since {data['since']})"
            pid = int(data["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return _SOMEONE_ELSE
        # A Shepherd killed while holding the lock leaves its note behind; the flock itself
        # died with it, so whoever holds the lock now is someone else (teleport-update).
        if pid <= 0 or not _alive(pid):
            return _SOMEONE_ELSE
        return text

    @contextlib.contextmanager
    def acquire(self, *, timeout: float | None, who: str) -> Iterator[None]:
        """Hold the lock for the ``with`` block.

        Args:
            timeout: seconds to wait; 0 = try once; None = wait forever.
            who: what holds it, shown to waiters ("shepherd daemon update").

        Raises:
            LockTimeout: the lock stayed held; the message says by whom.
        """
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            self._wait(fd, timeout)
            try:
                self._write_holder(who)
                yield
            finally:
                with contextlib.suppress(OSError):
                    self.holder_file.unlink()
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _wait(self, fd: int, timeout: float | None) -> None:
        deadline = None if timeout is None else self._clock.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if deadline is not None and self._clock.monotonic() >= deadline:
                    raise LockTimeout(
                        f"the update lock {self.lock_file} is held by {self.holder()}; "
                        f"gave up after {timeout:.0f} s"
                    ) from None
                self._clock.sleep(self._poll)

    def _write_holder(self, who: str) -> None:
        self.holder_file.parent.mkdir(parents=True, exist_ok=True)
        since = self._clock.now().strftime("%H:%M:%S UTC")
        self.holder_file.write_text(json.dumps({"pid": os.getpid(), "who": who, "since": since}))
