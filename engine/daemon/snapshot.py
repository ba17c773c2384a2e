"""The daemon's status answers (``GET /v1/agents``, ``GET /v1/agents/{agent}``), which never
wait on the work of a wave of updates (issue 17).

- They are computed in a thread of their own (they read files: off the event loop), not in
  the default pool, where record changes may each wait for an agent's flock.
- Records are parsed once per file change (``RecordCache``); each agent's readiness comes
  from ``Readiness``: the probes of all agents start together, an answer waits for them
  ``Readiness.wait_seconds`` at most, and a probe of the same process younger than a second
  is reused.
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from engine.daemon.host_settings import HostSettings
from engine.daemon.readiness import Readiness
from engine.daemon.runtime import AgentRuntime
from engine.daemon.status import agent_status, package_status
from engine.errors import ShepherdError
from engine.store.cache import RecordCache
from engine.update.managed import ManagedAgents
from engine.update.package_agent import PACKAGE_AGENT, PackageAgentRunner, agent_files

__all__ = ["StatusReader"]

T = TypeVar("T")
_FOUND_SECONDS = 10.0
_READER_THREADS = 2  # a second answer need not queue behind one waiting for a probe


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
        found_seconds: float = _FOUND_SECONDS,
    ) -> None:
        self.settings = settings
        self.records = records
        self.readiness = readiness or Readiness()
        self._package_agent = package_agent
        self._found_seconds = found_seconds
        self._found: tuple[frozenset[str], float, dict[str, list[str]]] | None = None
        self._found_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(_READER_THREADS, thread_name_prefix="shepherd-status")

    async def statuses(self, agents: list[AgentRuntime], managed: set[str]) -> list[dict[str, Any]]:
        return await self._run(self._statuses, agents, managed)

    async def status(self, agent: AgentRuntime, managed: set[str]) -> dict[str, Any]:
        return (await self._run(self._statuses, [agent], managed))[0]

    async def found(self, managed: set[str]) -> dict[str, list[str]]:
        """The agents on this host that Shepherd does not manage, with the foreign updater
        timers that are on for each (as ``ManagedAgents.found``, at most ``found_seconds``
        old)."""
        return await self._run(self._found_now, frozenset(managed))

    def close(self) -> None:
        self.readiness.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ---- in the reader's threads ----------------------------------------------------
    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)

    def _statuses(self, agents: list[AgentRuntime], managed: set[str]) -> list[dict[str, Any]]:
        for agent in agents:  # a broken layout only loses the early start of its probe
            with contextlib.suppress(ShepherdError, OSError):
                self.readiness.expect(*self._health_files(agent.namespace))
        deadline = time.monotonic() + self.readiness.wait_seconds

        def health(pid_file: Path, debug_socket: Path) -> dict[str, Any]:
            return dict(self.readiness.health(pid_file, debug_socket, deadline))

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
            answers.append(answer)
        return answers

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
