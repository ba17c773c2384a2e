"""The Shepherd daemon: one poll loop per managed agent, and the local API.

    daemon = Daemon(host, DaemonOptions(socket_path=...))
    asyncio.run(daemon.run())          # until SIGTERM/SIGINT

What it does when asked is ``engine.daemon.actions``; the routes are
``engine.daemon.router``. Blocking work (HTTP, files, the service manager, health checks)
runs in worker threads (each agent's operations in a thread of its own, reads in a pool
sized for the agents); the event loop only schedules, answers the API and streams events.

Stopping: new operations are refused, loops end, and an update in progress is given
``stop_grace_seconds`` to finish; if it does not, the process exits and the step journal
repairs the agent on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from engine.daemon.actions import DaemonActions
from engine.daemon.events import EventBus
from engine.daemon.host_settings import HostSettings
from engine.daemon.http import Admission, Limits, serve_connection
from engine.daemon.router import Router
from engine.daemon.runtime import AgentRuntime
from engine.errors import ShepherdError
from engine.settings.file import SettingsFile
from engine.update.host import HostConfig
from engine.update.managed import ManagedAgents

__all__ = ["Daemon", "DaemonOptions"]

_log = logging.getLogger("shepherd.daemon")
_SPARE_THREADS = 8


@dataclass(frozen=True)
class DaemonOptions:
    socket_path: Path = Path("/run/shepherd/api.sock")
    group: str = "shepherd"  # members may operate (not host-only); root may do anything
    poll_interval: timedelta | None = None  # None: the policy.poll_interval setting
    poll_spread: timedelta = timedelta(minutes=1)
    first_check: timedelta = timedelta(minutes=1)
    stop_grace_seconds: float = 120.0
    limits: Limits = field(default_factory=Limits)


class Daemon:
    def __init__(
        self,
        host: HostConfig,
        options: DaemonOptions | None = None,
        *,
        rng: random.Random | None = None,
        settings_file: SettingsFile | None = None,
    ) -> None:
        self.settings = HostSettings(host, settings_file)
        self.options = options or DaemonOptions()
        self.rng = rng or random.Random()  # noqa: S311 - poll spread, not security
        self.started = time.time()
        self._stopping = threading.Event()
        self._actions: DaemonActions | None = None
        self._server: asyncio.Server | None = None
        self._admission = Admission(self.options.limits)
        self._done: asyncio.Event | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    # ---- lifecycle --------------------------------------------------------------------
    @property
    def actions(self) -> DaemonActions:
        if self._actions is None:
            raise RuntimeError("the daemon is not running")
        return self._actions

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self) -> None:
        """Serve until ``stop()`` or SIGTERM/SIGINT.

        Raises:
            ShepherdError: another daemon already serves this root or this socket.
        """
        with self._single_instance():
            await self._serve()

    @contextlib.contextmanager
    def _single_instance(self) -> Iterator[None]:
        """One daemon per host root: an flock held for the daemon's life (pid inside)."""
        host = self.settings.host
        lock_path = host.state_dir / "daemon.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise ShepherdError(
                    f"another Shepherd daemon (pid {holder}) already manages {host.root}"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)

    async def _serve(self) -> None:
        self.settings.load()
        loop = asyncio.get_running_loop()
        names = ManagedAgents(self.settings.host).names()
        # Agents' operations run in their own threads (AgentRuntime.run_in_worker); this pool
        # is for reads and record changes, which may each wait for an agent's flock while
        # its update runs: room for one such wait per agent, and reads beside them.
        loop.set_default_executor(
            ThreadPoolExecutor(len(names) + _SPARE_THREADS, thread_name_prefix="shepherd")
        )
        self._actions = DaemonActions(
            self.settings, EventBus(loop), self._stopping, self._start_agent
        )
        self._actions.notices.start()  # delivers what a previous run left queued
        self._done = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self.stop)
        router = Router(self._actions, api_group=self.options.group)
        self._server = await self._listen(router)
        for name in names:
            self._start_agent(name)
        if self.settings.host.adopt_found:
            await self._adopt_found()
        _log.info("serving %d agent(s) on %s", len(self._actions.agents), self.options.socket_path)
        warm = asyncio.create_task(self._warm_statuses())
        _sd_notify("READY=1\nSTATUS=serving")
        watchdog = asyncio.create_task(self._watchdog())
        try:
            await self._done.wait()
        finally:
            watchdog.cancel()
            warm.cancel()
            await self._shutdown()

    async def _warm_statuses(self) -> None:
        """Read every agent's status once, so that a wave's first answer is a kept one."""
        if self._actions is not None:
            with contextlib.suppress(ShepherdError, OSError):
                await self._actions.statuses()

    async def _adopt_found(self) -> None:
        """``discovery.adopt_found``: take over the agents found on this host."""
        if self._actions is None:
            return
        managed = set(self._actions.agents)
        found = await asyncio.to_thread(ManagedAgents(self.settings.host).found, managed)
        for name in sorted(found):
            try:
                await self._actions.add_agent(name, uid=None)
            except ShepherdError as e:
                _log.warning("cannot adopt the found agent %r: %s", name, e)

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        _log.info("stopping")
        _sd_notify("STOPPING=1")
        self._stopping.set()
        for agent in self.actions.agents.values():
            agent.wake.set()
            agent.interrupt.set()
        if self._done is not None:
            self._done.set()

    async def _listen(self, router: Router) -> asyncio.Server:
        path = self.options.socket_path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_socket():
            if _answers(path):
                raise ShepherdError(f"another Shepherd daemon is serving on {path}")
            path.unlink()  # a stale socket left by a daemon that was killed
        limits = self.options.limits

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._handlers.add(task)
            try:
                await serve_connection(reader, writer, router.handle, self._admission)
            finally:
                if task is not None:
                    self._handlers.discard(task)

        # any local user may connect (0666): the read level is anyone's, and each request's
        # level is decided from its peer credentials (engine.daemon.authz)
        old_umask = os.umask(0o111)
        try:
            server = await asyncio.start_unix_server(
                on_connect,
                path=str(path),
                limit=limits.max_head_bytes,
                backlog=limits.listen_backlog,
            )
        finally:
            os.umask(old_umask)
        return server

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        agents = self.actions.agents.values()
        busy = [a for a in agents if a.lock.locked()]
        if busy:
            _log.info(
                "waiting up to %.0f s for %s to finish",
                self.options.stop_grace_seconds,
                ", ".join(f"{a.namespace} ({a.busy})" for a in busy),
            )
        self.actions.health.close()
        self.actions.bus.close()  # ends the event streams; requests in progress are answered
        tasks: list[asyncio.Task[Any]] = [
            *(a.task for a in agents if a.task is not None),
            *self._handlers,
        ]
        pending: set[asyncio.Task[Any]] = set()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.options.stop_grace_seconds)
        for task in pending:
            task.cancel()
        for agent in agents:
            agent.stop_worker()
        self.actions.reader.close()
        await asyncio.to_thread(self.actions.notices.stop)  # the rest stays queued on disk
        if pending:
            _log.warning("an operation did not finish in time; the journal repairs it on start")
        with contextlib.suppress(FileNotFoundError):
            self.options.socket_path.unlink()

    async def _watchdog(self) -> None:
        usec = os.environ.get("WATCHDOG_USEC", "")
        if not usec.isdigit():
            return
        interval = int(usec) / 2e6
        while True:
            await asyncio.sleep(interval)
            _sd_notify("WATCHDOG=1")

    # ---- poll loops -------------------------------------------------------------------
    def _start_agent(self, namespace: str) -> AgentRuntime:
        agents = self.actions.agents
        agent = agents.get(namespace)
        if agent is None:
            agent = AgentRuntime(namespace)
            agents[namespace] = agent
        if agent.task is None or agent.task.done():
            agent.task = asyncio.create_task(self._poll_loop(agent), name=f"poll-{namespace}")
            self.actions.health.check(namespace)  # and watch its process from now on
        return agent

    async def _poll_loop(self, agent: AgentRuntime) -> None:
        actions = self.actions
        try:
            outcome = await actions.repair(agent)
        except ShepherdError as e:
            _log.error("agent %s: repairing an interrupted update failed: %s", agent.namespace, e)
        else:
            if outcome is not None:
                _log.warning("agent %s: %s", agent.namespace, outcome.message)
        delay = self.options.first_check.total_seconds()
        while not self.stopping:
            agent.next_check = self.settings.host.clock.now() + timedelta(seconds=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(agent.wake.wait(), delay)
            agent.wake.clear()
            if self.stopping or agent.namespace not in actions.agents:
                return
            try:
                await actions.check(agent.namespace, uid=None, trigger="timer")
            except ShepherdError as e:
                _log.error("agent %s: %s", agent.namespace, e)
            except Exception:
                _log.exception("agent %s: unexpected error in a pass", agent.namespace)
            spread = self.options.poll_spread.total_seconds()
            delay = max(
                1.0,
                self._poll_interval().total_seconds() + self.rng.uniform(-spread, spread),
            )
            wanted = agent.decision.next_check if agent.decision is not None else None
            if wanted is not None:  # a window opens or a soak ends before the next poll
                delay = max(
                    1.0, min(delay, (wanted - self.settings.host.clock.now()).total_seconds() + 1)
                )

    def _poll_interval(self) -> timedelta:
        return self.options.poll_interval or self.settings.host.poll_interval


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def _sd_notify(message: str) -> None:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(message.encode(), address)
        except OSError as e:
            _log.warning("could not notify the service manager (%s): %s", address, e)
