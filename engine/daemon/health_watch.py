"""The ``health`` event: said when an agent's process stops running, comes back, or its
readiness changes, so a client (the tray) shows it without asking again.

The daemon learns an agent's health where it looks at it already: each status read, and
after each pass, rollback or repair (``check``). Between those, a running agent's process
is watched through a pidfd on the event loop: its exit wakes the loop, no polling. Only
while an agent is not running (or not ready) is its health probed again, from 0.25 s
doubling up to 30 s, to see it come back (a service manager may restart it at any time).
An agent in the middle of an update is left to that update, which restarts it and is
followed by a check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from engine.daemon.events import EventBus
from engine.daemon.runtime import AgentRuntime

__all__ = ["HealthWatch"]

_log = logging.getLogger("shepherd.daemon")

_FIRST_RECHECK = 0.25
_LAST_RECHECK = 30.0

Health = dict[str, Any]  # health_now's answer: {running, pid, ready}


class HealthWatch:
    def __init__(
        self, bus: EventBus, agents: Mapping[str, AgentRuntime], probe: Callable[[str], Health]
    ) -> None:
        """``agents``: the managed ones (a removed agent is no longer watched);
        ``probe(agent)`` (blocking): the agent's health now."""
        self._bus = bus
        self._loop = bus.loop
        self._agents = agents
        self._probe = probe
        self._known: dict[str, tuple[bool, bool | None]] = {}  # (running, ready)
        self._watched: dict[str, tuple[int, int]] = {}  # agent: (pid, pidfd)
        self._rechecks: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    def observe(self, agent: str, health: Health) -> None:
        """A health the daemon just learned (from any thread)."""
        with contextlib.suppress(RuntimeError):  # the loop has closed: the daemon stopped
            self._loop.call_soon_threadsafe(self._seen, agent, dict(health))

    def check(self, agent: str) -> None:
        """Probe the agent's health now (on the event loop), e.g. after an operation."""
        if self._closed:
            return
        pending = self._rechecks.pop(agent, None)
        if pending is not None:
            pending.cancel()
        self._rechecks[agent] = self._loop.create_task(self._recheck(agent, 0.0))

    def forget(self, agent: str) -> None:
        self._unwatch(agent)
        self._known.pop(agent, None)
        task = self._rechecks.pop(agent, None)
        if task is not None:
            task.cancel()

    def close(self) -> None:
        self._closed = True
        for agent in list(self._watched) + list(self._rechecks):
            self.forget(agent)

    # ---- on the event loop ----------------------------------------------------------------
    def _busy(self, agent: str) -> bool:
        """An operation on it runs (its restarts are that operation's), or it is gone."""
        runtime = self._agents.get(agent)
        return runtime is None or runtime.busy is not None

    def _seen(self, agent: str, health: Health, *, rechecking: bool = False) -> None:
        if self._closed or agent not in self._agents:
            self.forget(agent)
            return
        running, pid = bool(health.get("running")), health.get("pid")
        state = (running, health.get("ready"))
        before = self._known.get(agent)
        self._known[agent] = state
        if before is not None and before != state:
            _log.info("agent %s: health %s -> %s", agent, _words(before), _words(state))
            self._bus.publish("health", agent=agent, **health)
        if running and isinstance(pid, int):
            self._watch(agent, pid)
        else:
            self._unwatch(agent)
        if not _settled(health) and not rechecking and agent not in self._rechecks:
            self._rechecks[agent] = self._loop.create_task(self._recheck(agent, _FIRST_RECHECK))

    def _watch(self, agent: str, pid: int) -> None:
        if self._watched.get(agent, (None, None))[0] == pid:
            return
        self._unwatch(agent)
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:  # it ended since it was probed
            self._exited(agent, pid)
            return
        except OSError as e:  # an old kernel: the next status read or pass will tell
            _log.debug("cannot watch agent %s's process %d: %s", agent, pid, e)
            return
        self._watched[agent] = (pid, fd)
        self._loop.add_reader(fd, self._exited, agent, pid)

    def _unwatch(self, agent: str) -> None:
        watched = self._watched.pop(agent, None)
        if watched is not None:
            self._loop.remove_reader(watched[1])
            os.close(watched[1])

    def _exited(self, agent: str, pid: int) -> None:
        self._unwatch(agent)
        if self._busy(agent):  # an update restarting it: the check after it tells
            return
        self._seen(agent, {"running": False, "pid": None, "ready": None, "exited": pid})

    async def _recheck(self, agent: str, delay: float) -> None:
        try:
            while True:
                await asyncio.sleep(delay)
                if self._busy(agent):
                    return  # the check after the operation tells
                health = await asyncio.to_thread(self._probe, agent)
                self._seen(agent, health, rechecking=True)
                if _settled(health):
                    return
                delay = min(max(delay * 2, _FIRST_RECHECK), _LAST_RECHECK)
        except Exception:  # a probe that failed must not end the daemon's loop
            _log.exception("agent %s: probing its health failed", agent)
        finally:
            if self._rechecks.get(agent) is asyncio.current_task():
                del self._rechecks[agent]


def _settled(health: Health) -> bool:
    """Running and not known to be unready: nothing to look at again until it exits."""
    return bool(health.get("running")) and health.get("ready") is not False


def _words(state: tuple[bool, bool | None]) -> str:
    running, ready = state
    if not running:
        return "not running"
    return "ready" if ready else "running" if ready is None else "running, not ready"
