"""Is the agent healthy after a reload? PROTOCOL §3 step 5.

1. PID stability: poll the agent's PID file every ``poll_seconds``; success needs the PID to
   change from the one before the reload and then stay the same (and alive) for
   ``stable_polls`` polls. More than ``max_changes`` changes (crashes, restarts) fails; so
   does no change at all before ``timeout_seconds`` (the agent ignored the reload).
2. Readiness: ``GET /readyz`` on ``<data_dir>/debug.sock`` must answer 200 with JSON
   ``{"status": ..., "pid": N}`` where N is the new PID; it is retried until the deadline.
   A missing socket (older agents) skips this step.

A lost cluster connection is never a failure: readiness is about the local process.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine.unixhttp import UnixHTTPConnection

__all__ = ["Clock", "HealthCheck", "HealthConfig", "HealthResult", "read_pid"]


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class HealthConfig:
    poll_seconds: float = 2.0
    stable_polls: int = 6
    max_changes: int = 2
    timeout_seconds: float = 60.0
    readyz_timeout_seconds: float = 2.0


@dataclass(frozen=True)
class HealthResult:
    ok: bool
    reason: str  # stable code
    message: str
    pid: int | None
    elapsed: float


def read_pid(pid_file: Path) -> int | None:
    """The live PID in ``pid_file``, or None (missing, garbage, or a dead process)."""
    try:
        text = pid_file.read_text().strip()
    except OSError:
        return None
    if not text.isdigit() or int(text) <= 0:
        return None
    pid = int(text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def readyz(socket_path: Path, timeout: float) -> tuple[int, dict[str, object] | None]:
    """One ``GET /readyz`` over the debug socket: (status, decoded JSON or None)."""
    connection = UnixHTTPConnection(socket_path, timeout)
    try:
        connection.request("GET", "/readyz")
        response = connection.getresponse()
        body = response.read(65536)
    finally:
        connection.close()
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return response.status, None
    return response.status, data if isinstance(data, dict) else None


class HealthCheck:
    def __init__(self, config: HealthConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or HealthConfig()
        self.clock = clock or RealClock()

    def wait_for_new_pid(self, pid_file: Path, before: int | None) -> HealthResult:
        """Step 1: the PID changes, then stays put and alive."""
        cfg = self.config
        start = self.clock.monotonic()
        deadline = start + cfg.timeout_seconds
        current = before
        changes = 0
        stable = 0
        while True:
            self.clock.sleep(cfg.poll_seconds)
            now = self.clock.monotonic()
            pid = read_pid(pid_file)
            if pid != current:
                changes += 1  # the reload itself is one change; crashes add more
                current = pid
                stable = 0
                if changes > cfg.max_changes:
                    return HealthResult(
                        False,
                        "agent-crashing",
                        f"the agent crashed or restarted {changes} times after the reload",
                        pid,
                        now - start,
                    )
            elif pid is not None and pid != before:
                stable += 1
                if stable >= cfg.stable_polls:
                    return HealthResult(
                        True, "pid-stable", f"agent running as PID {pid}", pid, now - start
                    )
            if now >= deadline:
                if current == before and current is not None:
                    message = (
                        "the agent's PID did not change after the reload: it ignored "
                        "the reload signal"
                    )
                    return HealthResult(False, "pid-unchanged", message, current, now - start)
                if current is None:
                    return HealthResult(
                        False,
                        "agent-not-running",
                        "the agent is not running after the reload",
                        None,
                        now - start,
                    )
                return HealthResult(
                    False,
                    "pid-unstable",
                    f"the agent's PID never stayed stable for {cfg.stable_polls} polls",
                    current,
                    now - start,
                )

    def wait_until_ready(self, socket_path: Path, pid: int, started: float) -> HealthResult:
        """Step 2: ``/readyz`` says the new PID is up; a missing socket skips the step."""
        cfg = self.config
        deadline = started + cfg.timeout_seconds
        last = "no answer"
        while True:
            now = self.clock.monotonic()
            if not socket_path.exists():
                return HealthResult(
                    True,
                    "readiness-skipped",
                    f"agent PID {pid} is stable; it has no debug socket "
                    "(older agent), readiness not checked",
                    pid,
                    now - started,
                )
            try:
                status, body = readyz(socket_path, cfg.readyz_timeout_seconds)
            except OSError as e:
                last = f"readyz unreachable ({e})"
            else:
                reported = body.get("pid") if body else None
                if status == 200 and reported == pid:
                    return HealthResult(
                        True, "ready", f"agent PID {pid} is ready", pid, now - started
                    )
                if status == 200:
                    last = f"readyz reported pid {reported} but the PID file says {pid}"
                else:
                    state = body.get("status") if body else None
                    last = f"readyz answered {status} ({state or 'no status'})"
            if now >= deadline:
                return HealthResult(
                    False, "not-ready", f"the agent never became ready: {last}", pid, now - started
                )
            self.clock.sleep(cfg.poll_seconds)

    def check(self, pid_file: Path, socket_path: Path, before: int | None) -> HealthResult:
        started = self.clock.monotonic()
        stable = self.wait_for_new_pid(pid_file, before)
        if not stable.ok or stable.pid is None:
            return stable
        return self.wait_until_ready(socket_path, stable.pid, started)
