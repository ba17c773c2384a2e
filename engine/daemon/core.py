"""The Shepherd daemon: one poll loop per managed agent, and the operations the API offers.

    daemon = Daemon(host, DaemonOptions(socket_path=...))
    asyncio.run(daemon.run())          # until SIGTERM/SIGINT

Each agent has an asyncio lock, so two operations on one agent never overlap inside the
daemon; the namespace flock (taken by the transaction) keeps other processes out too.
Blocking work (HTTP, files, the service manager, health checks) runs in worker threads;
the event loop only schedules, answers the API and streams events.

Stopping: new operations are refused, loops end, and an update in progress is given
``stop_grace_seconds`` to finish; if it does not, the process exits and the step journal
repairs the agent on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import grp
import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from engine.api.schema import decision_json, outcome_json, revision_json
from engine.daemon.events import EventBus
from engine.daemon.http import Limits, serve_connection
from engine.daemon.router import Router
from engine.errors import InvalidInput, SecretStoreError, ShepherdError, StateError
from engine.install.adopt import inspect_namespace
from engine.install.download import Progress
from engine.install.revisions import installed_checksum
from engine.names import validate_namespace
from engine.policy.decide import Action, Decision
from engine.service.health import read_pid, readyz
from engine.settings.file import SettingsFile
from engine.settings.model import Settings
from engine.store.agent_record import load_agent_state, save_agent_state
from engine.store.history import History, HistoryRecord
from engine.store.lock import NamespaceLock
from engine.store.update_yaml import load_config, save_config
from engine.update.host import HostConfig, ManagedAgents, with_settings
from engine.update.transaction import Outcome, Transaction
from engine.update.update_pass import PassResult
from engine.versions import Version

__all__ = ["AgentRuntime", "Daemon", "DaemonOptions"]

_log = logging.getLogger("shepherd.daemon")
T = TypeVar("T")


@dataclass(frozen=True)
class DaemonOptions:
    socket_path: Path = Path("/run/shepherd/api.sock")
    group: str = "shepherd"  # members may use the API; root always may
    poll_interval: timedelta | None = None  # None: the policy.poll_interval setting
    poll_spread: timedelta = timedelta(minutes=1)
    first_check: timedelta = timedelta(minutes=1)
    stop_grace_seconds: float = 120.0
    limits: Limits = field(default_factory=Limits)
    max_connections: int = 64


@dataclass
class AgentRuntime:
    namespace: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    interrupt: threading.Event = field(default_factory=threading.Event)
    task: asyncio.Task[None] | None = None
    busy: str | None = None
    last_check: datetime | None = None
    next_check: datetime | None = None
    decision: Decision | None = None
    last_result: dict[str, Any] | None = None
    progress: dict[str, Any] | None = None
    last_recorded_reason: str | None = None


class Daemon:
    def __init__(
        self,
        host: HostConfig,
        options: DaemonOptions | None = None,
        *,
        rng: random.Random | None = None,
        settings_file: SettingsFile | None = None,
    ) -> None:
        self.host = host
        self.settings_file = settings_file or SettingsFile(host.root)
        self.settings_problem: str | None = None
        self.secrets_problem: str | None = None
        self.options = options or DaemonOptions()
        self.rng = rng or random.Random()  # noqa: S311 - poll spread, not security
        self.agents: dict[str, AgentRuntime] = {}
        self.managed = ManagedAgents(host)
        self.started = time.time()
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bus: EventBus | None = None
        self._server: asyncio.Server | None = None
        self._connections = asyncio.Semaphore(self.options.max_connections)
        self._done: asyncio.Event | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    # ---- lifecycle --------------------------------------------------------------------
    @property
    def bus(self) -> EventBus:
        if self._bus is None:
            raise RuntimeError("the daemon is not running")
        return self._bus

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
        lock_path = self.host.state_dir / "daemon.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise ShepherdError(
                    f"another Shepherd daemon (pid {holder}) already manages {self.host.root}"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)

    async def _serve(self) -> None:
        self.load_settings()
        self._loop = asyncio.get_running_loop()
        self._bus = EventBus(self._loop)
        self._done = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                self._loop.add_signal_handler(signum, self.stop)
        router = Router(self)
        self._server = await self._listen(router)
        for name in self.managed.names():
            self._start_agent(name)
        _log.info("serving %d agent(s) on %s", len(self.agents), self.options.socket_path)
        _sd_notify("READY=1\nSTATUS=serving")
        watchdog = asyncio.create_task(self._watchdog())
        try:
            await self._done.wait()
        finally:
            watchdog.cancel()
            await self._shutdown()

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        _log.info("stopping")
        _sd_notify("STOPPING=1")
        self._stopping.set()
        for agent in self.agents.values():
            agent.wake.set()
            agent.interrupt.set()
        if self._done is not None:
            self._done.set()

    async def _listen(self, router: Any) -> asyncio.Server:
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
                async with self._connections:
                    await serve_connection(reader, writer, router.handle, limits)
            finally:
                if task is not None:
                    self._handlers.discard(task)

        old_umask = os.umask(0o117)
        try:
            server = await asyncio.start_unix_server(
                on_connect, path=str(path), limit=limits.max_head_bytes
            )
        finally:
            os.umask(old_umask)
        _set_socket_group(path, self.options.group)
        return server

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        busy = [a for a in self.agents.values() if a.lock.locked()]
        if busy:
            _log.info(
                "waiting up to %.0f s for %s to finish",
                self.options.stop_grace_seconds,
                ", ".join(f"{a.namespace} ({a.busy})" for a in busy),
            )
        self.bus.close()  # ends the event streams; requests in progress are answered
        tasks: list[asyncio.Task[Any]] = [
            *(a.task for a in self.agents.values() if a.task is not None),
            *self._handlers,
        ]
        pending: set[asyncio.Task[Any]] = set()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.options.stop_grace_seconds)
        for task in pending:
            task.cancel()
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

    # ---- agents -----------------------------------------------------------------------
    def _start_agent(self, namespace: str) -> AgentRuntime:
        agent = self.agents.get(namespace)
        if agent is None:
            agent = AgentRuntime(namespace)
            self.agents[namespace] = agent
        if agent.task is None or agent.task.done():
            agent.task = asyncio.create_task(self._poll_loop(agent), name=f"poll-{namespace}")
        return agent

    def agent(self, namespace: str) -> AgentRuntime:
        try:
            name = validate_namespace(namespace)
        except InvalidInput as e:
            raise LookupError(str(e)) from e
        agent = self.agents.get(name)
        if agent is None:
            raise LookupError(f"no managed agent {name!r}")
        return agent

    async def _poll_loop(self, agent: AgentRuntime) -> None:
        await self._repair(agent)
        delay = self.options.first_check.total_seconds()
        while not self.stopping:
            agent.next_check = datetime.now(UTC) + timedelta(seconds=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(agent.wake.wait(), delay)
            agent.wake.clear()
            if self.stopping or agent.namespace not in self.agents:
                return
            try:
                await self.check(agent.namespace, uid=None, trigger="timer")
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
                delay = max(1.0, min(delay, (wanted - datetime.now(UTC)).total_seconds() + 1))

    def _poll_interval(self) -> timedelta:
        return self.options.poll_interval or self.host.poll_interval

    # ---- settings -----------------------------------------------------------------------
    def load_settings(self) -> None:
        """Load the settings file at start; an invalid file stops the start (raises)."""
        self._apply_settings(self.settings_file.load())

    def reload_settings_if_changed(self) -> None:
        """Pick up a hand edit. An invalid file is reported and the old settings kept."""
        if not self.settings_file.changed_on_disk():
            return
        try:
            settings = self.settings_file.load()
        except InvalidInput as e:
            if self.settings_problem != str(e):
                _log.error("settings file changed but is invalid; old settings kept: %s", e)
            self.settings_problem = f"{e} (the previous settings are still in use)"
            return
        _log.info("settings reloaded from %s", self.settings_file.path)
        self._apply_settings(settings)

    def _apply_settings(self, settings: Settings) -> None:
        self.host, self.secrets_problem = with_settings(self.host, settings)
        self.settings_problem = None
        if self.secrets_problem:
            _log.error("secret store unavailable: %s", self.secrets_problem)

    async def change_settings(self, changes: dict[str, str | None], *, uid: int | None) -> Settings:
        """Validate and write ``changes`` (all or nothing), then use them."""

        def work() -> Settings:
            settings = self.settings_file.update(changes)
            History(self.host.state_dir).record(
                HistoryRecord.now(
                    agent="(host)",
                    event="settings",
                    outcome="changed",
                    reason="settings-changed",
                    message="settings: "
                    + ", ".join(
                        f"{k}={'(default)' if v is None else v}" for k, v in changes.items()
                    ),
                    uid=uid,
                )
            )
            return settings

        settings = await asyncio.to_thread(work)
        self._apply_settings(settings)
        self.bus.publish("settings", keys=sorted(changes))
        return settings

    async def set_secret(self, name: str, value: str | None, *, uid: int | None) -> bool:
        """Store (or with None delete) a secret. Never logs or returns the value."""
        store = self.host.secrets
        if store is None:
            raise SecretStoreError(f"no secret store: {self.secrets_problem or 'not configured'}")

        def work() -> bool:
            if value is None:
                changed = store.delete(name)
            else:
                store.set(name, value)
                changed = True
            History(self.host.state_dir).record(
                HistoryRecord.now(
                    agent="(host)",
                    event="secret",
                    outcome="changed" if changed else "unchanged",
                    reason="secret-stored" if value is not None else "secret-deleted",
                    message=f"secret {name!r} {'stored' if value is not None else 'deleted'} "
                    f"in the {store.backend_name} keyring",
                    uid=uid,
                )
            )
            return changed

        result = await asyncio.to_thread(work)
        self.bus.publish("settings", secrets=[name])
        return result

    def secrets_status(self) -> dict[str, Any]:
        store = self.host.secrets
        backend = self.host.settings.get_choice("secrets.backend")
        if store is None:
            return {
                "backend": backend,
                "available": False,
                "problem": self.secrets_problem,
                "stored": {},
            }
        return {
            "backend": store.backend_name,
            "available": True,
            "problem": None,
            "stored": store.status(tuple(sorted(self.agents))),
        }

    async def _repair(self, agent: AgentRuntime) -> None:
        """Finish or undo an update that a crash (of this daemon or a timer job) left."""

        def work() -> Outcome | None:
            with self.host.client() as client:
                ctx = self.host.context(agent.namespace, client, who="shepherd daemon (repair)")
                transaction = Transaction(ctx)
                return transaction.recover() if transaction.journal.path.exists() else None

        try:
            outcome = await self._exclusive(agent, "repairing", work)
        except ShepherdError as e:
            _log.error("agent %s: repairing an interrupted update failed: %s", agent.namespace, e)
            return
        if outcome is not None:
            _log.warning("agent %s: %s", agent.namespace, outcome.message)
            agent.last_result = outcome_json(outcome)
            self._notify(agent.namespace, "warning", "Interrupted update repaired", outcome.message)

    async def _exclusive(self, agent: AgentRuntime, what: str, work: Callable[[], T]) -> T:
        if self.stopping:
            raise ShepherdError("the daemon is stopping; try again when it is back")
        async with agent.lock:
            agent.busy = what
            self.bus.publish("state", agent=agent.namespace, busy=what)
            try:
                return await asyncio.to_thread(work)
            finally:
                agent.busy = None
                agent.progress = None
                self.bus.publish("state", agent=agent.namespace, busy=None)

    def _progress_reporter(self, agent: AgentRuntime) -> Callable[[Progress], None]:
        last = [0.0]

        def report(progress: Progress) -> None:
            now = time.monotonic()
            done = progress.bytes_total is not None and progress.bytes_done >= progress.bytes_total
            if now - last[0] < 0.2 and not done:
                return
            last[0] = now
            data = asdict(progress)
            agent.progress = data
            self.bus.publish("progress", agent=agent.namespace, **data)

        return report

    def _sleeper(self, agent: AgentRuntime) -> Callable[[float], bool]:
        """The jitter wait: cut short by a stop (then False: do not update) or by a change
        of the agent's spec (then True: the transaction re-checks update.yaml under the
        lock and cancels if it must)."""

        def sleep(seconds: float) -> bool:
            agent.interrupt.clear()
            agent.interrupt.wait(seconds)
            return not self.stopping

        return sleep

    # ---- operations -------------------------------------------------------------------
    async def check(
        self,
        namespace: str,
        *,
        uid: int | None,
        forced: bool = False,
        dry_run: bool = False,
        trigger: str = "request",
    ) -> PassResult:
        """One pass now (the poll loop's work; also 'check now' and 'update now')."""
        agent = self.agent(namespace)
        self.reload_settings_if_changed()
        what = "dry run" if dry_run else "updating" if forced else "checking"

        def work() -> PassResult:
            with self.host.client() as client:
                ctx = self.host.context(
                    agent.namespace,
                    client,
                    progress=self._progress_reporter(agent),
                    who=f"shepherd daemon ({trigger})",
                )
                runner = self.host.update_pass(ctx, sleep=self._sleeper(agent))
                return runner.run(
                    forced=forced, dry_run=dry_run, uid=uid, gate=self.host.canary_gate()
                )

        result = await self._exclusive(agent, what, work)
        agent.last_check = datetime.now(UTC)
        if not dry_run:
            agent.decision = result.decision
            self._after_pass(agent, result, uid)
        return result

    def _after_pass(self, agent: AgentRuntime, result: PassResult, uid: int | None) -> None:
        decision = result.decision
        self.bus.publish("decision", agent=agent.namespace, decision=decision_json(decision))
        if result.repaired is not None:
            self._notify(
                agent.namespace, "warning", "Interrupted update repaired", result.repaired.message
            )
        if result.outcome is not None:
            agent.last_result = outcome_json(result.outcome)
            self.bus.publish("operation", agent=agent.namespace, **agent.last_result)
            if result.outcome.cancelled:
                pass  # update.yaml changed under us (pinned, disabled): nothing to report
            elif result.outcome.ok:
                self._notify(agent.namespace, "info", "Agent updated", result.outcome.message)
            else:
                self._notify(agent.namespace, "error", "Update failed", result.outcome.message)
            agent.last_recorded_reason = None
            return
        reason = decision.reason.value
        blocked = decision.action is Action.ERROR or reason == "canary-failed"
        if blocked and agent.last_recorded_reason != reason:
            History(self.host.layout(agent.namespace).state_dir).record(
                HistoryRecord.now(
                    agent=agent.namespace,
                    event="check",
                    outcome="refused" if decision.action is not Action.ERROR else "failed",
                    reason=reason,
                    message=decision.message,
                    to_revision=str(decision.target) if decision.target else None,
                    uid=uid,
                )
            )
            self._notify(agent.namespace, "warning", "Update blocked", decision.message)
        agent.last_recorded_reason = reason

    def _notify(self, namespace: str, level: str, title: str, message: str) -> None:
        self.bus.publish("notification", agent=namespace, level=level, title=title, message=message)

    async def rollback(self, namespace: str, *, uid: int | None, reason: str) -> Outcome:
        agent = self.agent(namespace)

        def work() -> Outcome:
            with self.host.client() as client:
                ctx = self.host.context(agent.namespace, client, who="shepherd daemon (rollback)")
                return Transaction(ctx).rollback(uid=uid, reason=reason)

        outcome = await self._exclusive(agent, "rolling back", work)
        agent.last_result = outcome_json(outcome)
        self.bus.publish("operation", agent=agent.namespace, **agent.last_result)
        self._notify(
            agent.namespace,
            "info" if outcome.ok else "error",
            "Rolled back" if outcome.ok else "Rollback failed",
            outcome.message,
        )
        return outcome

    async def set_spec(self, namespace: str, *, uid: int | None, **changes: bool) -> dict[str, Any]:
        """Pin/unpin/enable/disable: a change of update.yaml's spec, under the flock."""
        agent = self.agent(namespace)
        layout = self.host.layout(agent.namespace)

        def work() -> dict[str, Any]:
            lock = NamespaceLock(layout.lock_file, layout.state_dir / "lock-holder")
            with lock.acquire(timeout=self.host.lock_timeout, who="shepherd daemon (settings)"):
                config = load_config(layout.update_yaml)
                if config is None:
                    raise StateError(f"{layout.update_yaml} does not exist")
                before = {k: getattr(config.spec, k) for k in changes}
                if before != changes:
                    save_config(layout.update_yaml, config.with_spec(**changes))
            changed = {k: v for k, v in changes.items() if before[k] != v}
            words = ", ".join(f"{k}={'true' if v else 'false'}" for k, v in changes.items())
            History(layout.state_dir).record(
                HistoryRecord.now(
                    agent=agent.namespace,
                    event="settings",
                    outcome="changed" if changed else "unchanged",
                    reason="spec-" + "-".join(changes),
                    message=f"update.yaml spec: {words}",
                    uid=uid,
                )
            )
            return {"agent": agent.namespace, "changed": changed, **changes}

        if self.stopping:
            raise ShepherdError("the daemon is stopping; try again when it is back")
        # Not behind the agent's operation lock: a pass waiting out its jitter must not hold
        # a pin back. The flock orders it with a running transaction, which re-reads the
        # spec under that lock; the interrupt ends a jitter wait early.
        result = await asyncio.to_thread(work)
        agent.interrupt.set()
        self.bus.publish("state", agent=agent.namespace, spec=changes)
        return result

    async def clear_bad(self, namespace: str, version: str, *, uid: int | None) -> dict[str, Any]:
        """Forget that a version failed here (bad list and update.yaml's skip)."""
        agent = self.agent(namespace)
        layout = self.host.layout(agent.namespace)

        def work() -> dict[str, Any]:
            wanted = Version.parse(version)
            state = load_agent_state(layout.state_dir)
            cleared = [r for r in state.bad_revisions() if r.version == wanted]
            for revision in cleared:
                state = state.clear_bad(revision)
            lock = NamespaceLock(layout.lock_file, layout.state_dir / "lock-holder")
            skip_cleared = False
            with lock.acquire(timeout=self.host.lock_timeout, who="shepherd daemon (clear)"):
                save_agent_state(layout.state_dir, state)
                config = load_config(layout.update_yaml)
                if config and config.status.skip and config.status.skip.version == wanted:
                    save_config(layout.update_yaml, config.with_status(skip=None))
                    skip_cleared = True
            found = bool(cleared) or skip_cleared
            History(layout.state_dir).record(
                HistoryRecord.now(
                    agent=agent.namespace,
                    event="clear-bad",
                    outcome="changed" if found else "unchanged",
                    reason="clear-bad",
                    message=f"{wanted} may be installed again"
                    if found
                    else f"{wanted} was not marked bad",
                    to_revision=str(wanted),
                    uid=uid,
                )
            )
            return {"agent": agent.namespace, "version": str(wanted), "cleared": found}

        if self.stopping:
            raise ShepherdError("the daemon is stopping; try again when it is back")
        result = await asyncio.to_thread(work)
        agent.interrupt.set()
        return result

    async def add_agent(self, namespace: str, *, uid: int | None) -> dict[str, Any]:
        name = validate_namespace(namespace)
        report = await asyncio.to_thread(inspect_namespace, self.host.layout(name))
        if not report.managed:
            raise StateError(
                f"cannot adopt agent {name!r}: " + "; ".join(report.problems or ("not found",))
            )
        if name in self.agents:
            return {
                "agent": name,
                "active": str(report.active) if report.active else None,
                "problems": list(report.problems),
                "notes": list(report.notes),
                "already": True,
            }
        self.managed.add(name)
        self._start_agent(name)
        History(self.host.layout(name).state_dir).record(
            HistoryRecord.now(
                agent=name,
                event="adopt",
                outcome="changed",
                reason="agent-added",
                message=f"Shepherd now manages agent {name!r} (active {report.active})",
                uid=uid,
            )
        )
        self.bus.publish("agents", agents=sorted(self.agents))
        return {
            "agent": name,
            "active": str(report.active) if report.active else None,
            "problems": list(report.problems),
            "notes": list(report.notes),
        }

    async def remove_agent(self, namespace: str, *, uid: int | None) -> dict[str, Any]:
        agent = self.agent(namespace)
        async with agent.lock:
            self.managed.remove(agent.namespace)
            self.agents.pop(agent.namespace, None)
            agent.wake.set()
        History(self.host.layout(agent.namespace).state_dir).record(
            HistoryRecord.now(
                agent=agent.namespace,
                event="remove",
                outcome="changed",
                reason="agent-removed",
                message=f"Shepherd no longer manages agent {agent.namespace!r} "
                "(its files are untouched)",
                uid=uid,
            )
        )
        self.bus.publish("agents", agents=sorted(self.agents))
        return {"agent": agent.namespace, "removed": True}

    # ---- reads ------------------------------------------------------------------------
    async def status(self, namespace: str) -> dict[str, Any]:
        agent = self.agent(namespace)
        return await asyncio.to_thread(self._status_blocking, agent)

    def _status_blocking(self, agent: AgentRuntime) -> dict[str, Any]:
        layout = self.host.layout(agent.namespace)
        problems: list[str] = []
        try:
            config = load_config(layout.update_yaml)
        except StateError as e:
            config = None
            problems.append(str(e))
        state = load_agent_state(layout.state_dir)
        spec = config.spec if config else None
        status = config.status if config else None
        settings = self.host.settings
        proxy = settings.get_text(f"agents.{agent.namespace}.proxy") or (
            spec.proxy if spec else None
        )
        group = settings.get_text(f"agents.{agent.namespace}.group") or (
            (spec.group or "default") if spec else None
        )
        for name in self.host.canary_order:
            if name not in self.agents:
                problems.append(
                    f"canary.order names {name!r}, which is not a managed agent: the other "
                    "agents wait for it forever"
                )
        for name, ours in (("proxy", proxy), ("group", group)):
            theirs = getattr(spec, name, "") if spec else ""
            if (
                spec
                and settings.is_set(f"agents.{agent.namespace}.{name}")
                and theirs
                and (theirs != ours)
            ):
                problems.append(
                    f"Shepherd's settings use {name} {ours!r} but update.yaml says {theirs!r}: "
                    "teleport-update on this host would use that one"
                )
        last = status.last_update if status else None
        return {
            "agent": agent.namespace,
            "enabled": spec.enabled if spec else None,
            "pinned": spec.pinned if spec else None,
            "proxy": proxy,
            "group": group,
            "active": revision_json(status.active if status else None),
            "backup": revision_json(status.backup if status else None),
            "backup_installed": bool(
                status
                and status.backup
                and installed_checksum(layout.versions_dir, status.backup) is not None
            ),
            "skip": revision_json(status.skip if status else None),
            "last_update": {
                "success": last.success,
                "time": last.time.isoformat() if last.time else None,
                "target": revision_json(last.target),
            }
            if last
            else None,
            "bad": {name: asdict(bad) for name, bad in state.bad.items()},
            "last_failure": state.last_failure or None,
            "health": _health(layout.pid_file, layout.debug_socket),
            "busy": agent.busy,
            "progress": agent.progress,
            "last_check": agent.last_check.isoformat() if agent.last_check else None,
            "next_check": agent.next_check.isoformat() if agent.next_check else None,
            "decision": decision_json(agent.decision) if agent.decision else None,
            "last_result": agent.last_result,
            "problems": problems + ([self.settings_problem] if self.settings_problem else []),
        }

    def history(self, namespace: str | None) -> list[History]:
        if namespace:
            return [History(self.host.layout(self.agent(namespace).namespace).state_dir)]
        agents = [History(self.host.layout(n).state_dir) for n in sorted(self.agents)]
        return [History(self.host.state_dir), *agents]


def _health(pid_file: Path, debug_socket: Path) -> dict[str, Any]:
    pid = read_pid(pid_file)
    ready: bool | None = None
    if pid is not None and debug_socket.exists():
        try:
            code, body = readyz(debug_socket, 1.0)
            ready = code == 200 and body is not None and body.get("pid") == pid
        except OSError:
            ready = False
    return {"running": pid is not None, "pid": pid, "ready": ready}


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def _set_socket_group(path: Path, group: str) -> None:
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        _log.warning("group %r does not exist: only root can use the API socket %s", group, path)
        return
    try:
        os.chown(path, -1, gid)
    except PermissionError:
        _log.warning("cannot give the API socket %s to group %r (not root?)", path, group)


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
