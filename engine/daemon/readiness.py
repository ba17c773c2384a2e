"""Each agent's health for the status answer, without waiting on an agent that is busy.

A status answer says whether each agent's process runs (its PID file, read each time: a
``stat`` and a read) and whether its ``GET /readyz`` answers for that PID. Probing every
agent on every request cost the daemon CPU per agent per request, and an agent in the
middle of its re-exec holds its probe until the new process answers (up to the probe's
timeout): during a wave of updates the answer waited on the wave (issue 17). So the probes
run in a small pool of their own, and an answer uses

- the last probe of the PID running now, when it is younger than ``fresh_seconds``;
- that last probe too when it is older, while a new one runs in the background (the next
  answer has it);
- for a PID not probed yet (a new process), the probe's answer if it comes within the
  answer's deadline, and otherwise ``ready: None`` (not known yet) until it does.

    readiness = Readiness()
    started = time.monotonic()
    readiness.expect(pid_file, debug_socket)          # start the probes of every agent
    readiness.health(pid_file, debug_socket, started)  # {"running", "pid", "ready"}
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from engine.api.schema import HealthAnswer
from engine.service.health import read_pid, readyz

__all__ = ["Readiness"]

_PROBE_THREADS = 8


@dataclass(frozen=True)
class _Probe:
    pid: int
    ready: bool
    at: float  # monotonic, when it answered


class Readiness:
    """Thread-safe. ``first_wait_seconds``: how long an answer may wait for an agent never
    probed before (the daemon has just started: there is no older answer to give)."""

    def __init__(
        self,
        *,
        fresh_seconds: float = 1.0,
        wait_seconds: float = 0.05,
        first_wait_seconds: float = 1.0,
        probe_timeout: float = 1.0,
    ) -> None:
        self.fresh_seconds = fresh_seconds
        self.wait_seconds = wait_seconds
        self.first_wait_seconds = first_wait_seconds
        self.probe_timeout = probe_timeout
        self._last: dict[Path, _Probe] = {}
        self._running: dict[tuple[Path, int], Future[_Probe]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(_PROBE_THREADS, thread_name_prefix="shepherd-readyz")

    def expect(self, pid_file: Path, debug_socket: Path) -> None:
        """Start the probe an answer will need, so that the probes of many agents overlap."""
        pid = read_pid(pid_file)
        if pid is not None and debug_socket.exists():
            self._probe_for(debug_socket, pid)

    def health(self, pid_file: Path, debug_socket: Path, started: float) -> HealthAnswer:
        """Is the agent's process running, and does its ``/readyz`` answer for that PID?

        ``started`` (monotonic) is when the answer began: it waits for a probe until
        ``started`` + ``wait_seconds`` at most (+ ``first_wait_seconds`` for an agent never
        probed), so the waits of every agent in one answer overlap rather than add up."""
        pid = read_pid(pid_file)
        if pid is None or not debug_socket.exists():
            return {"running": pid is not None, "pid": pid, "ready": None}
        last, running = self._probe_for(debug_socket, pid)
        if last is not None and last.pid == pid:
            return {"running": True, "pid": pid, "ready": last.ready}
        if running is None:  # closed: the daemon is stopping
            return {"running": True, "pid": pid, "ready": None}
        wait = self.first_wait_seconds if last is None else self.wait_seconds
        deadline = started + wait  # never probed: there is no older answer to give
        try:
            probe = running.result(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return {"running": True, "pid": pid, "ready": None}
        return {"running": True, "pid": pid, "ready": probe.ready}

    def close(self) -> None:
        """Stop probing (probes under way end at their timeout). Safe to call twice."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _probe_for(self, socket: Path, pid: int) -> tuple[_Probe | None, Future[_Probe] | None]:
        """(the last probe of ``socket``, the probe of ``pid`` running now if one is)."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(socket)
            if last is not None and last.pid == pid and now - last.at < self.fresh_seconds:
                return last, None
            running = self._running.get((socket, pid))
            if running is None:
                try:
                    running = self._pool.submit(self._probe, socket, pid)
                except RuntimeError:  # closed: the daemon is stopping
                    return last, None
                self._running[(socket, pid)] = running
            return last, running

    def _probe(self, socket: Path, pid: int) -> _Probe:
        try:
            code, body = readyz(socket, self.probe_timeout)
            ready = code == 200 and body is not None and body.get("pid") == pid
        except OSError:
            ready = False
        probe = _Probe(pid, ready, time.monotonic())
        with self._lock:
            self._running.pop((socket, pid), None)
            last = self._last.get(socket)
            if last is None or last.at <= probe.at:
                self._last[socket] = probe
        return probe
