"""Is the agent healthy after a reload? PROTOCOL §3 step 5.

1. PID stability: poll the agent's PID file every ``poll_seconds``; success needs the PID to
   change from the one before the reload and then stay the same (and alive) for
   ``stable_polls`` polls. More than ``max_changes`` changes (crashes, restarts) fails; so
   does no change at all before ``timeout_seconds`` (the agent ignored the reload).

   A version that dies before writing its PID file never changes it again, so when the file
   names no live process the check also asks the service manager (when given one), as
   teleport-update's crash monitor reads systemd's view:

   - the unit not active for ``stable_polls`` consecutive such polls: "agent-not-running"
     at once, not at the deadline (one inactive look is not enough: a manager restarting
     the agent shows it briefly inactive);
   - each restart the manager counted since the check began (systemd's ``NRestarts``)
     counts as a crash towards ``max_changes`` (a restart loop); a manager that does not
     count (supervisord): the main PID moving on again after the first one seen counts. The
     first move is not counted: on a re-exec the main PID may legitimately change once.

   A unit that is active (starting) with no PID file yet is waited for, and a manager that
   cannot be asked is no evidence either way: both fall back to the deadline.
2. Readiness: ``GET /readyz`` on ``<data_dir>/debug.sock`` must answer 200 with JSON
   ``{"status": ..., "pid": N}`` where N is the new PID; it is retried until the deadline.
   A missing socket (older agents) skips this step.

A lost cluster connection is never a failure: readiness is about the local process.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import ServiceError
from engine.unixhttp import UnixHTTPConnection

__all__ = ["HealthCheck", "HealthConfig", "HealthResult", "UnitStatus", "read_pid"]

_log = logging.getLogger(__name__)


class UnitStatus(Protocol):
    """What the check asks the service manager; ``engine.service.base.ServiceManager`` is one."""

    def is_active(self, unit: str) -> bool: ...

    def main_pid(self, unit: str) -> int | None: ...


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
    came_up: bool = False  # a new agent process wrote its PID (it started, then failed)


def recorded_pid(pid_file: Path) -> int | None:
    """The PID written in ``pid_file``, alive or not (None: missing or garbage)."""
    try:
        text = pid_file.read_text().strip()
    except OSError:
        return None
    if not text.isdigit() or int(text) <= 0:
        return None
    return int(text)


def read_pid(pid_file: Path) -> int | None:
    """The live PID in ``pid_file``, or None (missing, garbage, or a dead process)."""
    pid = recorded_pid(pid_file)
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def readyz(socket_path: Path, timeout: float) -> tuple[int, dict[str, object] | None]:
    """One ``GET /readyz`` over the debug socket: (status, decoded JSON or None).

    Raises:
        OSError: nothing answers on the socket, or the answer broke off or took longer
            than ``timeout``.
    """
    connection = UnixHTTPConnection(socket_path, timeout, host="teleport")
    try:
        connection.request("GET", "/readyz")
        response = connection.getresponse()
        body = response.read(65536)
    except http.client.HTTPException as e:
        raise OSError(f"GET /readyz on {socket_path}: {e}") from e
    finally:
        connection.close()
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return response.status, None
    return response.status, data if isinstance(data, dict) else None


@dataclass
class _UnitWatch:
    """The service manager's view, asked only while the PID file names no live process."""

    service: UnitStatus
    unit: str
    inactive_polls: int = 0  # consecutive
    first_main: int | None = None
    last_main: int | None = None

    last_restarts: int | None = None

    def baseline(self) -> None:
        """Note the manager's restart count before the check (systemd's ``NRestarts``)."""
        self.last_restarts = self._restart_count()

    def _restart_count(self) -> int | None:
        counter = getattr(self.service, "restarts", None)
        if counter is None:
            return None
        try:
            count = counter(self.unit)
        except ServiceError:
            return None
        return count if isinstance(count, int) else None

    def look(self) -> int:
        """One look; returns the restarts it reveals."""
        try:
            active = self.service.is_active(self.unit)
            main = self.service.main_pid(self.unit) if active else None
        except ServiceError as e:
            _log.warning("health check: cannot ask the service manager about %s: %s", self.unit, e)
            self.inactive_polls = 0  # unknown is not evidence of a dead agent
            return 0
        self.inactive_polls = 0 if active else self.inactive_polls + 1
        count = self._restart_count() if self.last_restarts is not None else None
        if count is not None and self.last_restarts is not None:
            # the manager counts its restarts itself (systemd's NRestarts): trust the count
            new, self.last_restarts = max(count - self.last_restarts, 0), count
            return new
        if not active or main is None:
            return 0  # stopped, or starting
        # Like teleport-update: a crash is a move away from a main PID that is not the first.
        restarted = self.last_main not in {None, main, self.first_main}
        if self.first_main is None:
            self.first_main = main
        self.last_main = main
        return 1 if restarted else 0


class HealthCheck:
    def __init__(self, config: HealthConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or HealthConfig()
        self.clock = clock or SYSTEM_CLOCK

    def wait_for_new_pid(
        self,
        pid_file: Path,
        before: int | None,
        *,
        service: UnitStatus | None = None,
        unit: str | None = None,
    ) -> HealthResult:
        """Step 1: the PID changes, then stays put and alive. With ``service`` and ``unit``,
        a dead or restart-looping agent fails without waiting for the deadline."""
        written: set[int] = set()
        result = self._watch_pid(pid_file, before, written, service, unit)
        return replace(result, came_up=bool(written))

    def _watch_pid(
        self,
        pid_file: Path,
        before: int | None,
        written: set[int],
        service: UnitStatus | None,
        unit: str | None,
    ) -> HealthResult:
        """``wait_for_new_pid``'s loop; adds every new PID the file names to ``written``."""
        cfg = self.config
        start = self.clock.monotonic()
        deadline = start + cfg.timeout_seconds
        watch = _UnitWatch(service, unit) if service is not None and unit is not None else None
        if watch is not None:
            watch.baseline()
        current = before
        changes = 0
        stable = 0
        while True:
            self.clock.sleep(cfg.poll_seconds)
            now = self.clock.monotonic()
            pid = read_pid(pid_file)
            named = recorded_pid(pid_file)
            if named is not None and named != before:
                written.add(named)
            changed = pid != current
            if changed:
                changes += 1  # the reload itself is one change; crashes add more
                current = pid
                stable = 0
            if watch is not None:
                if pid is None:
                    changes += watch.look()
                else:
                    watch.inactive_polls = 0
            if changes > cfg.max_changes:
                return HealthResult(
                    False,
                    "agent-crashing",
                    f"the agent crashed or restarted {changes} times after the reload",
                    pid,
                    now - start,
                )
            if watch is not None and watch.inactive_polls >= cfg.stable_polls:
                return HealthResult(
                    False,
                    "agent-not-running",
                    f"the agent is not running after the reload: no live process in the PID "
                    f"file and {watch.unit} not active for {watch.inactive_polls} polls",
                    None,
                    now - start,
                )
            if not changed and pid is not None and pid != before:
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

    def wait_until_ready(
        self, socket_path: Path, pid: int, started: float, pid_file: Path | None = None
    ) -> HealthResult:
        """Step 2: ``/readyz`` says the new PID is up; a missing socket skips the step.
        With ``pid_file``: the PID dying (or the manager restarting it) meanwhile fails the
        check at once, instead of at the deadline."""
        cfg = self.config
        deadline = started + cfg.timeout_seconds
        last = "no answer"
        while True:
            now = self.clock.monotonic()
            current = read_pid(pid_file) if pid_file is not None else pid
            if current != pid:
                reason, what = (
                    ("agent-not-running", "is not running any more")
                    if current is None
                    else ("agent-crashing", f"was restarted as PID {current}")
                )
                return HealthResult(
                    False,
                    reason,
                    f"the agent crashed while its readiness was checked: PID {pid} {what}",
                    current,
                    now - started,
                )
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

    def check(
        self,
        pid_file: Path,
        socket_path: Path,
        before: int | None,
        *,
        service: UnitStatus | None = None,
        unit: str | None = None,
    ) -> HealthResult:
        """Steps 1 and 2. ``service``/``unit``: the manager running the agent, asked while
        the PID file names no live process (see the module docstring)."""
        started = self.clock.monotonic()
        stable = self.wait_for_new_pid(pid_file, before, service=service, unit=unit)
        if not stable.ok or stable.pid is None:
            return stable
        return self.wait_until_ready(socket_path, stable.pid, started, pid_file)
