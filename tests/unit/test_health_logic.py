"""The PID-stability counting of the health check, with a fake clock and scripted PIDs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.health import HealthCheck, HealthConfig


class ScriptedPids:
    """A fake clock whose every sleep moves the PID file to the next scripted value."""

    def __init__(self, pid_file: Path, script: list[int | None]) -> None:
        self.pid_file = pid_file
        self.script = iter(script)
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        pid = next(self.script, "end")
        if pid == "end":
            return
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
        else:
            self.pid_file.write_text(f"{pid}\n")


@pytest.fixture
def live() -> Iterator[list[int]]:
    """Real live PIDs to put in the PID file (read_pid checks they are alive)."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(4)
    ]
    yield [p.pid for p in procs]
    for proc in procs:
        proc.kill()
        proc.wait()


CONFIG = HealthConfig(poll_seconds=2, stable_polls=6, max_changes=2, timeout_seconds=60)


def run(tmp_path: Path, before: int, script: list[int | None]) -> tuple[bool, str, float]:
    pid_file = tmp_path / "teleport.pid"
    pid_file.write_text(f"{before}\n")
    clock = ScriptedPids(pid_file, script)
    result = HealthCheck(CONFIG, clock).wait_for_new_pid(pid_file, before)
    return result.ok, result.reason, clock.now


def test_one_change_then_six_stable_polls_succeeds(tmp_path: Path, live: list[int]) -> None:
    a, b = live[0], live[1]
    ok, reason, elapsed = run(tmp_path, a, [a, b, b, b, b, b, b])
    assert (ok, reason) == (True, "pid-stable")
    assert elapsed == 16  # the change seen at 4 s, then six stable 2-s polls


def test_three_changes_fail(tmp_path: Path, live: list[int]) -> None:
    a, b, c, d = live
    ok, reason, _ = run(tmp_path, a, [b, c, d, d, d, d, d, d])
    assert (ok, reason) == (False, "agent-crashing")


def test_a_crash_and_restart_within_two_changes_still_counts(
    tmp_path: Path, live: list[int]
) -> None:
    a, b, c = live[0], live[1], live[2]
    ok, _, _ = run(tmp_path, a, [b, b, c, c, c, c, c, c])
    assert ok  # two changes (reload, one restart) are tolerated


def test_no_change_until_the_deadline_fails_as_ignored_reload(
    tmp_path: Path, live: list[int]
) -> None:
    ok, reason, elapsed = run(tmp_path, live[0], [live[0]] * 40)
    assert (ok, reason) == (False, "pid-unchanged")
    assert elapsed == 60


def test_a_dead_pid_in_the_file_counts_as_not_running(tmp_path: Path, live: list[int]) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ok, reason, _ = run(tmp_path, live[0], [int(dead)] * 40)
    assert (ok, reason) == (False, "agent-not-running")
    assert os.getpid() not in live
