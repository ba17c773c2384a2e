"""The namespace lock against another flock(2) user, as teleport-update is.

teleport-update takes ``flock(LOCK_EX)`` on ``/opt/teleport/<ns>/update.lock`` itself (the
file is kept, never replaced) for enable/update/disable/unpin/uninstall, and a shared
non-blocking one for ``link-package``. util-linux ``flock`` makes the same system call, so it
stands in for teleport-update here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.errors import LockTimeout
from engine.store.lock import NamespaceLock

pytestmark = pytest.mark.skipif(shutil.which("flock") is None, reason="util-linux flock missing")


@pytest.fixture
def lock(tmp_path: Path) -> NamespaceLock:
    return NamespaceLock(tmp_path / "update.lock", tmp_path / "shepherd" / "lock-holder")


def hold_exclusively(lock_file: Path) -> subprocess.Popen[str]:
    """A process holding the lock until its stdin closes; returns once it holds it."""
    proc = subprocess.Popen(
        ["flock", "--exclusive", str(lock_file), "-c", "echo held; read _ || true"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    proc.stdout.close()
    assert proc.wait(timeout=10) == 0


def try_flock(lock_file: Path, mode: str) -> int:
    command = ["flock", mode, "--nonblock", str(lock_file), "true"]
    return subprocess.run(command, check=False).returncode


def test_shepherd_waits_for_a_teleport_update_holder_and_names_it(lock: NamespaceLock) -> None:
    lock.lock_file.parent.mkdir(parents=True, exist_ok=True)
    holder = hold_exclusively(lock.lock_file)
    try:
        with (
            pytest.raises(LockTimeout, match="perhaps teleport-update"),
            lock.acquire(timeout=0, who="shepherd update"),
        ):
            pass
    finally:
        release(holder)
    with lock.acquire(timeout=10, who="shepherd update"):
        assert "(shepherd update, since " in lock.holder()


def test_teleport_update_cannot_take_the_lock_while_shepherd_holds_it(
    lock: NamespaceLock,
) -> None:
    with lock.acquire(timeout=0, who="shepherd update"):
        assert try_flock(lock.lock_file, "--exclusive") == 1  # update / enable
        assert try_flock(lock.lock_file, "--shared") == 1  # link-package skips
    assert try_flock(lock.lock_file, "--exclusive") == 0
    assert try_flock(lock.lock_file, "--shared") == 0
    assert lock.lock_file.is_file()  # the file stays: both sides lock the same inode


def test_a_stale_note_from_a_dead_shepherd_does_not_name_the_wrong_holder(
    lock: NamespaceLock,
) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock.holder_file.parent.mkdir(parents=True)
    lock.holder_file.write_text(json.dumps({"pid": dead.pid, "who": "shepherd", "since": "x"}))
    holder = hold_exclusively(lock.lock_file)
    try:
        with pytest.raises(LockTimeout) as raised, lock.acquire(timeout=0, who="shepherd"):
            pass
    finally:
        release(holder)
    assert "perhaps teleport-update" in str(raised.value)
    assert f"pid {dead.pid}" not in str(raised.value)
