"""Waiting for the package manager's own lock, with a bound, then naming the holder.

dpkg and rpm take POSIX record locks (``fcntl``) on their lock files; zypper writes its PID
to ``/run/zypp.pid``. ``wait_until_free`` asks the kernel who holds a lock (``F_GETLK``)
without taking it, polls until every lock is free or ``bound`` seconds passed, and then
raises ``PackageManagerBusy`` naming the file and the process. The package manager takes the
lock itself afterwards (apt is also given ``DPkg::Lock::Timeout`` for the race in between).
"""

from __future__ import annotations

import fcntl
import os
import struct
from collections.abc import Sequence
from pathlib import Path

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import PackageManagerBusy
from engine.packages.base import pid_alive, pid_name

__all__ = ["lock_holder", "wait_until_free"]

# struct flock on Linux x86_64/arm64: short l_type, short l_whence, off_t l_start,
# off_t l_len, pid_t l_pid (+ padding)
_FLOCK = "hhxxxxqqixxxx"


def lock_holder(path: Path) -> int | None:
    """The PID holding a record lock on ``path`` or, for a ``.pid`` file, the live PID in it."""
    if path.suffix == ".pid":
        try:
            text = path.read_text().strip()
        except OSError:
            return None
        pid = int(text) if text.isdigit() else 0
        return pid if pid > 0 and pid != os.getpid() and pid_alive(pid) else None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        query = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, query)
    except OSError:
        return None
    finally:
        os.close(fd)
    kind, _, _, _, pid = struct.unpack(_FLOCK, answer)
    return pid if kind != fcntl.F_UNLCK and pid > 0 else None


def wait_until_free(
    paths: Sequence[Path],
    bound: float,
    *,
    poll: float = 0.5,
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """Return once no process holds any of ``paths``; wait at most ``bound`` seconds.

    Raises:
        PackageManagerBusy: still held after ``bound`` (names the file and the holder).
    """
    deadline = clock.monotonic() + bound
    while True:
        held = [(path, pid) for path in paths if (pid := lock_holder(path)) is not None]
        if not held:
            return
        if clock.monotonic() >= deadline:
            path, pid = held[0]
            raise PackageManagerBusy(
                f"the package manager's lock {path} is still held by process {pid_name(pid)} "
                f"after waiting {bound:.0f} s; try again when it has finished"
            )
        clock.sleep(poll)
