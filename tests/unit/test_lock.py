"""The namespace lock with real processes: one waits, none interleave, waiters learn who holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.clock import ManualClock
from engine.errors import LockTimeout
from engine.store.lock import NamespaceLock
from sandbox.ports import wait_until

REPO = Path(__file__).parents[2]

HOLDER = """
import sys, time
from pathlib import Path
from engine.store.lock import NamespaceLock
lock = NamespaceLock(Path(sys.argv[1]), Path(sys.argv[2]))
with lock.acquire(timeout=5, who="test holder"):
    Path(sys.argv[3]).write_text("held")
    while not Path(sys.argv[4]).exists():
        time.sleep(0.01)
"""

WORKER = """
import sys
from pathlib import Path
from engine.store.lock import NamespaceLock
lock = NamespaceLock(Path(sys.argv[1]), Path(sys.argv[2]))
log = Path(sys.argv[3])
for i in range(40):
    with lock.acquire(timeout=60, who="worker"):
        with log.open("a") as f:
            f.write(f"start {sys.argv[4]}\\n")
            f.flush()
        with log.open("a") as f:
            f.write(f"end {sys.argv[4]}\\n")
"""


def python(code: str, *args: Path | str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "update.lock", tmp_path / "shepherd" / "lock-holder"


def test_a_second_updater_waits_then_times_out_naming_the_holder(
    tmp_path: Path, paths: tuple[Path, Path]
) -> None:
    lock_file, holder_file = paths
    held, release = tmp_path / "held", tmp_path / "release"
    holder = python(HOLDER, lock_file, holder_file, held, release)
    try:
        wait_until(held.exists, 10, "the holder to take the lock")
        lock = NamespaceLock(lock_file, holder_file)
        with pytest.raises(LockTimeout) as info, lock.acquire(timeout=0.3, who="me"):
            pass
        assert f"pid {holder.pid} (test holder" in str(info.value)
        release.write_text("go")
        assert holder.wait(timeout=10) == 0
        with lock.acquire(timeout=5, who="me"):
            assert "me" in lock.holder()
    finally:
        release.write_text("go")
        holder.wait(timeout=10)


def test_two_processes_never_interleave(tmp_path: Path, paths: tuple[Path, Path]) -> None:
    lock_file, holder_file = paths
    log = tmp_path / "log"
    workers = [python(WORKER, lock_file, holder_file, log, name) for name in ("a", "b")]
    for worker in workers:
        assert worker.wait(timeout=60) == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 160
    for start, end in zip(lines[::2], lines[1::2], strict=True):
        assert start.startswith("start ")
        assert end == "end " + start.removeprefix("start ")


def test_the_lock_is_released_when_the_holder_is_killed(
    tmp_path: Path, paths: tuple[Path, Path]
) -> None:
    lock_file, holder_file = paths
    held = tmp_path / "held"
    holder = python(HOLDER, lock_file, holder_file, held, tmp_path / "never")
    wait_until(held.exists, 10, "the holder to take the lock")
    holder.kill()
    holder.wait(timeout=10)
    with NamespaceLock(lock_file, holder_file).acquire(timeout=5, who="next"):
        pass


def test_timeout_uses_the_injected_clock(paths: tuple[Path, Path]) -> None:
    lock_file, holder_file = paths
    clock = ManualClock()
    outer = NamespaceLock(lock_file, holder_file)
    inner = NamespaceLock(lock_file, holder_file, clock=clock)
    with (
        outer.acquire(timeout=0, who="outer"),
        pytest.raises(LockTimeout, match="outer"),
        inner.acquire(timeout=1.0, who="inner"),
    ):
        pass
    assert 19 <= clock.sleeps <= 21
