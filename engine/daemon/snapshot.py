"""The daemon's status answers (``GET /v1/agents``, ``GET /v1/agents/{agent}``), which never
wait on the work of a wave of updates (issue 17).

- They are computed in a thread of their own (they read files: off the event loop), not in
  the default pool, where record changes may each wait for an agent's flock.
- Records are parsed once per file change (``RecordCache``); each agent's readiness comes
  from ``Readiness``: the probes of all agents start together, an answer waits for them
  ``Readiness.wait_seconds`` at most, and a probe of the same process younger than a second
  is reused.
- While an operation runs on any agent (a wave of updates), the list of every agent
  (``statuses``) is answered from what each agent's files said at most ``max_age`` seconds
  ago, with what the daemon holds in memory (busy, progress, decision, ...) as it is now:
  under a wave every file read waits for the GIL behind the updates' threads, and an
  answer that read every agent's files took seconds. An older file part is answered at
  once and read again in the background, and so is one an event of the agent (its spec,
  decision or operation) made old: the next answer has it. With no operation running,
  every answer reads the files afresh (and keeps them); the daemon warms them at start.
- The agents found on the host but not managed (a directory scan, and a package database
  query where there is one) are scanned again at most every ``found_seconds``, or at once
  when the managed agents change.

    reader = StatusReader(settings, records, package_agent=...)
    await reader.statuses(agents, managed)
    reader.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from engine.daemon.events import EventBus
from engine.daemon.host_settings import HostSettings
from engine.daemon.readiness import Readiness
from engine.daemon.runtime import AgentRuntime
from engine.daemon.status import RUNTIME_KEYS, agent_status, package_status, runtime_fields
from engine.errors import ShepherdError
from engine.store.cache import RecordCache
from engine.update.managed import ManagedAgents
from engine.update.package_agent import PACKAGE_AGENT, PackageAgentRunner, agent_files

__all__ = ["StatusReader"]

T = TypeVar("T")
_FOUND_SECONDS = 10.0
_MAX_AGE_SECONDS = 1.0
_READER_THREADS = 2  # a second answer need not queue behind one waiting for a probe


@dataclass(frozen=True)
class _Kept:
    """An agent's answer without its runtime fields, as its files said at ``at``."""

    at: float
    files: dict[str, Any]


class StatusReader:
    """Thread-safe; ``package_agent(namespace)`` is the package agent's runner when
    ``namespace`` is it (None otherwise). The host is ``settings.host`` at each answer (the
    settings may change)."""

    def __init__(
        self,
        settings: HostSettings,
        records: RecordCache,
        *,
        package_agent: Callable[[str], PackageAgentRunner | None],
        readiness: Readiness | None = None,
        bus: EventBus | None = None,
        found_seconds: float = _FOUND_SECONDS,
        max_age: float = _MAX_AGE_SECONDS,
    ) -> None:
        self.settings = settings
        self.records = records
        self.readiness = readiness or Readiness()
        self._package_agent = package_agent
        self._found_seconds = found_seconds
        self._found: tuple[frozenset[str], float, dict[str, list[str]]] | None = None
        self._found_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(_READER_THREADS, thread_name_prefix="shepherd-status")
        self.max_age = max_age
        self._kept: dict[str, _Kept] = {}
        self._changes = 0  # counts the events that forgot kept answers
        self._refreshing: set[str] = set()
        self._kept_lock = threading.Lock()
        self._refresher = ThreadPoolExecutor(1, thread_name_prefix="shepherd-status-refresh")
        if bus is not None:
            bus.listen(self.changed)

    async def statuses(self, agents: list[AgentRuntime], managed: set[str]) -> list[dict[str, Any]]:
        if any(agent.busy for agent in agents):
            return await self._run(self._kept_statuses, agents, managed)
        return await self._run(self._statuses, agents, managed)

    async def status(self, agent: AgentRuntime, managed: set[str]) -> dict[str, Any]:
        """One agent's answer, its files read afresh."""
        return (await self._run(self._statuses, [agent], managed))[0]

    def changed(self, kind: str, data: Mapping[str, Any]) -> None:
        """An event: the kept answer of its agent (of every agent, without one) is read
        again at its next answer."""
        if kind == "progress" or (kind == "state" and set(data) <= {"agent", "busy"}):
            return  # runtime fields only: answers take them from memory anyway
        agent = data.get("agent")
        with self._kept_lock:
            self._changes += 1
            names = [agent] if isinstance(agent, str) else list(self._kept)
            for name in names:
                kept = self._kept.get(name)
                if kept is not None:
                    self._kept[name] = _Kept(float("-inf"), kept.files)

    async def found(self, managed: set[str]) -> dict[str, list[str]]:
        """The agents on this host that Shepherd does not manage, with the foreign updater
        timers that are on for each (as ``ManagedAgents.found``, at most ``found_seconds``
        old)."""
        return await self._run(self._found_now, frozenset(managed))

    def close(self) -> None:
        self.readiness.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._refresher.shutdown(wait=False, cancel_futures=True)

    # ---- in the reader's threads ----------------------------------------------------
    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)

    def _statuses(self, agents: list[AgentRuntime], managed: set[str]) -> list[dict[str, Any]]:
        started = time.monotonic()
        with self._kept_lock:
            changes = self._changes
        for agent in agents:  # a broken layout only loses the early start of its probe
            with contextlib.suppress(ShepherdError, OSError):
                self.readiness.expect(*self._health_files(agent.namespace))

        def health(pid_file: Path, debug_socket: Path) -> dict[str, Any]:
            return dict(self.readiness.health(pid_file, debug_socket, started))

        host, answers = self.settings.host, []
        for agent in agents:
            answer = agent_status(
                host,
                agent,
                managed=managed,
                settings_problem=self.settings.problem,
                records=self.records,
                health=health,
            )
            package = self._package_agent(agent.namespace)
            if package is not None:  # its version, lock and repository; no update.yaml
                package_status(answer, host, agent, package, health=health)
            else:
                self._keep(answer, started, changes)
            answers.append(answer)
        return answers

    def _kept_statuses(self, agents: list[AgentRuntime], managed: set[str]) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._kept_lock:
            kept = {a.namespace: self._kept.get(a.namespace) for a in agents}
        missing = [a for a in agents if kept[a.namespace] is None]
        old = [a for a in agents if (k := kept[a.namespace]) and now - k.at >= self.max_age]
        fresh = {a["agent"]: a for a in self._statuses(missing, managed)} if missing else {}
        if old:
            self._refresh_later(old, managed)
        answers = []
        for agent in agents:
            if agent.namespace in fresh:
                answers.append(fresh[agent.namespace])
                continue
            files = kept[agent.namespace].files  # type: ignore[union-attr]
            answers.append({**files, **runtime_fields(agent, files.get("active"))})
        return answers

    def _refresh_later(self, agents: list[AgentRuntime], managed: set[str]) -> None:
        with self._kept_lock:
            due = [a for a in agents if a.namespace not in self._refreshing]
            self._refreshing.update(a.namespace for a in due)
        if not due:
            return

        def refresh() -> None:
            try:
                self._statuses(due, managed)
            finally:
                with self._kept_lock:
                    self._refreshing.difference_update(a.namespace for a in due)

        try:
            self._refresher.submit(refresh)
        except RuntimeError:  # closed: the daemon is stopping
            with self._kept_lock:
                self._refreshing.difference_update(a.namespace for a in due)

    def _keep(self, answer: dict[str, Any], at: float, changes: int) -> None:
        """Keep an answer's file part, unless an event came since it began to be read."""
        files = {k: v for k, v in answer.items() if k not in RUNTIME_KEYS}
        with self._kept_lock:
            if self._changes == changes:
                self._kept[answer["agent"]] = _Kept(at, files)

    def _health_files(self, namespace: str) -> tuple[Path, Path]:
        host = self.settings.host
        if namespace == PACKAGE_AGENT:
            return agent_files(host)
        layout = self.records.layout(host.root, namespace)
        return layout.pid_file, layout.debug_socket

    def _found_now(self, managed: frozenset[str]) -> dict[str, list[str]]:
        now = time.monotonic()
        with self._found_lock:
            found = self._found
            if found is not None and found[0] == managed and now - found[1] < self._found_seconds:
                return found[2]
        scanned = ManagedAgents(self.settings.host).found(set(managed))
        with self._found_lock:
            self._found = (managed, now, scanned)
        return scanned
