"""The daemon's ``install`` and ``uninstall`` (``engine.update.enroll``, ``.uninstall``),
mixed into ``DaemonActions``: the work runs in a thread; an agent the daemon already manages
is held (its asyncio lock) so that no pass of it runs meanwhile, and its poll loop starts
after an install and ends after an uninstall. Progress goes out on the event stream:
``progress`` (the download) and ``step`` (one line per step)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Mapping
from typing import Any

from engine.daemon.events import EventBus
from engine.daemon.host_settings import HostSettings
from engine.daemon.runtime import AgentRuntime, progress_reporter
from engine.errors import ShepherdError
from engine.names import validate_namespace
from engine.update.enroll import Installer
from engine.update.install_options import InstallRequest
from engine.update.uninstall import uninstall

__all__ = ["InstallActions"]


class InstallActions:
    """``install_agent`` and ``uninstall_agent`` of ``engine.daemon.router.Operations``."""

    settings: HostSettings
    bus: EventBus
    agents: dict[str, AgentRuntime]
    _stopping: threading.Event
    _start_agent: Callable[[str], AgentRuntime]

    def _held(self, name: str) -> contextlib.AbstractAsyncContextManager[Any]:
        agent = self.agents.get(name)
        return agent.lock if agent is not None else contextlib.nullcontext()

    async def install_agent(
        self, namespace: str, options: Mapping[str, Any], *, uid: int | None
    ) -> dict[str, Any]:
        request = InstallRequest.from_json({**options, "agent": namespace})
        if self._stopping.is_set():
            raise ShepherdError("the daemon is stopping; try again when it is back")
        self.settings.reload_if_changed()
        name = request.namespace
        bus = self.bus

        def say(line: str) -> None:
            bus.publish("step", agent=name, step=line)

        installer = Installer(
            self.settings.host,
            progress=progress_reporter(bus, AgentRuntime(name)),
            say=say,
            who="shepherd daemon (install)",
        )
        async with self._held(name):
            report = await asyncio.to_thread(
                installer.install, request, uid=uid, managed_now=set(self.agents)
            )
        if name not in self.agents:
            self._start_agent(name)
            bus.publish("agents", agents=sorted(self.agents))
        return report.as_json()

    async def uninstall_agent(
        self, namespace: str, *, force: bool, uid: int | None
    ) -> dict[str, Any]:
        name = validate_namespace(namespace)
        if self._stopping.is_set():
            raise ShepherdError("the daemon is stopping; try again when it is back")
        self.settings.reload_if_changed()
        host = self.settings.host
        async with self._held(name):
            report = await asyncio.to_thread(
                uninstall, host, name, force=force, uid=uid, who="shepherd daemon"
            )
            agent = self.agents.pop(name, None)
            if agent is not None:
                agent.wake.set()
                agent.stop_worker()
        self.bus.publish("agents", agents=sorted(self.agents))
        return report.as_json()
