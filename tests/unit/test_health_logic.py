"""The PID-stability counting of the health check, with a fake clock and scripted PIDs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import ServiceError
from engine.service.health import HealthCheck, HealthConfig


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


class ScriptedUnit:
    """A fake service manager: one scripted (active, main PID) per poll of ``clock``, or an
    exception it raises. The last entry repeats."""

    def __init__(
        self, clock: ScriptedPids, script: list[tuple[bool, int | None] | Exception]
    ) -> None:
        self.clock = clock
        self.script = script
        self.asked = 0

    def _now(self) -> tuple[bool, int | None]:
        self.asked += 1
        poll = int(self.clock.now / CONFIG.poll_seconds) - 1
        state = self.script[min(poll, len(self.script) - 1)]
        if isinstance(state, Exception):
            raise state
        return state

    def is_active(self, unit: str) -> bool:
        assert unit == "teleport"
        return self._now()[0]

    def main_pid(self, unit: str) -> int | None:
        return self._now()[1]


def run_watched(
    tmp_path: Path,
    before: int,
    script: list[int | None],
    unit: list[tuple[bool, int | None] | Exception],
) -> tuple[bool, str, float, int]:
    pid_file = tmp_path / "teleport.pid"
    pid_file.write_text(f"{before}\n")
    clock = ScriptedPids(pid_file, script)
    service = ScriptedUnit(clock, unit)
    result = HealthCheck(CONFIG, clock).wait_for_new_pid(
        pid_file, before, service=service, unit="teleport"
    )
    return result.ok, result.reason, clock.now, service.asked


INACTIVE = (False, None)
STARTING = (True, None)


def test_no_pid_and_an_inactive_unit_for_six_polls_fails_at_once(
    tmp_path: Path, live: list[int]
) -> None:
    ok, reason, elapsed, _ = run_watched(tmp_path, live[0], [None] * 40, [INACTIVE])
    assert (ok, reason) == (False, "agent-not-running")
    assert elapsed == 12  # six 2-s polls, not the 60-s deadline


def test_a_dead_pid_left_in_the_file_and_an_inactive_unit_fails_at_once(
    tmp_path: Path, live: list[int]
) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ok, reason, elapsed, _ = run_watched(tmp_path, live[0], [int(dead)] * 40, [INACTIVE])
    assert (ok, reason, elapsed) == (False, "agent-not-running", 12)


def test_an_inactive_unit_for_five_polls_then_a_stable_pid_succeeds(
    tmp_path: Path, live: list[int]
) -> None:
    a, b = live[0], live[1]
    ok, reason, _, _ = run_watched(tmp_path, a, [None] * 5 + [b] * 7, [INACTIVE])
    assert (ok, reason) == (True, "pid-stable")


def test_inactive_polls_must_be_consecutive(tmp_path: Path, live: list[int]) -> None:
    a, b = live[0], live[1]
    unit: list[tuple[bool, int | None] | Exception] = [INACTIVE] * 5 + [STARTING]
    unit += [INACTIVE] * 5 + [STARTING]
    ok, reason, _, _ = run_watched(tmp_path, a, [None] * 11 + [b] * 7, unit)
    assert (ok, reason) == (True, "pid-stable")


def test_a_unit_still_starting_is_waited_for(tmp_path: Path, live: list[int]) -> None:
    a, b = live[0], live[1]
    ok, reason, _, _ = run_watched(tmp_path, a, [None] * 15 + [b] * 7, [STARTING])
    assert (ok, reason) == (True, "pid-stable")  # slow is not dead


def test_restarts_by_the_manager_count_as_crashes(tmp_path: Path, live: list[int]) -> None:
    ok, reason, elapsed, _ = run_watched(
        tmp_path, live[0], [None] * 40, [(True, 101), (True, 102), (True, 103), (True, 104)]
    )
    # the reload (PID file emptied), then 102 -> 103 and 103 -> 104; 101 -> 102 may be a
    # legitimate re-exec and is not counted
    assert (ok, reason, elapsed) == (False, "agent-crashing", 8)


def test_one_main_pid_change_during_a_reload_is_not_a_crash(
    tmp_path: Path, live: list[int]
) -> None:
    a, b = live[0], live[1]
    ok, reason, _, _ = run_watched(tmp_path, a, [None, None, b] + [b] * 6, [(True, a), (True, b)])
    assert (ok, reason) == (True, "pid-stable")


def test_the_manager_is_not_asked_while_the_pid_file_names_a_live_process(
    tmp_path: Path, live: list[int]
) -> None:
    a, b = live[0], live[1]
    ok, _, _, asked = run_watched(tmp_path, a, [b] * 7, [INACTIVE])
    assert ok
    assert asked == 0


def test_a_manager_that_cannot_answer_falls_back_to_the_deadline(
    tmp_path: Path, live: list[int]
) -> None:
    error = ServiceError("supervisorctl status could not run")
    ok, reason, elapsed, _ = run_watched(tmp_path, live[0], [None] * 40, [error])
    assert (ok, reason, elapsed) == (False, "agent-not-running", 60)
