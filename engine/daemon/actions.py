"""What the daemon does when asked (by the API or by its own poll loops).

Each action on an agent runs its blocking work in a worker thread. Passes, rollbacks and
repairs also hold the agent's asyncio lock, so two of them never overlap inside the daemon;
the record-changing operations (``engine.update.operations``) and the transaction take the
namespace flock, which orders them with each other and with other processes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from engine.daemon.events import EventBus
from engine.daemon.health_watch import HealthWatch
from engine.daemon.host_settings import HostSettings
from engine.daemon.install_actions import InstallActions
from engine.daemon.memory import release_free_memory
from engine.daemon.notices import DaemonNotices
from engine.daemon.runtime import AgentRuntime, jitter_sleeper, progress_reporter
from engine.daemon.snapshot import StatusReader
from engine.daemon.status import agent_health
from engine.errors import InvalidInput, ShepherdError, StateError
from engine.names import validate_namespace
from engine.policy.decision import Action
from engine.store.cache import RecordCache
from engine.store.history import History, HistoryRecord
from engine.store.journal import Journal
from engine.update.host import HostConfig
from engine.update.managed import ManagedAgents
from engine.update.operations import AgentOperations
from engine.update.outcome import Outcome
from engine.update.package_agent import PACKAGE_AGENT, PackageAgentRunner, find_package_agent
from engine.update.report import decision_json, outcome_json
from engine.update.transaction import Transaction
from engine.update.update_pass import PassResult

__all__ = ["DaemonActions"]

T = TypeVar("T")


class DaemonActions(InstallActions):
    """Every API route's side (``router.Operations``); install, uninstall: ``install_actions``."""

    def __init__(
        self,
        settings: HostSettings,
        bus: EventBus,
        stopping: threading.Event,
        start_agent: Callable[[str], AgentRuntime],
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.agents: dict[str, AgentRuntime] = {}
        self._stopping = stopping
        self._start_agent = start_agent
        self.records = RecordCache()
        self.reader = StatusReader(
            settings, self.records, package_agent=self._package_agent, bus=bus
        )
        self.notices = DaemonNotices(settings, bus)
        self.notify = self.notices.send  # (namespace, kind, message): tray, webhook, e-mail
        self.health = HealthWatch(bus, self.agents, lambda name: agent_health(self.host, name))

    @property
    def host(self) -> HostConfig:
        return self.settings.host

    def agent_names(self) -> list[str]:
        return sorted(self.agents)

    def agent(self, namespace: str) -> AgentRuntime:
        try:
            name = validate_namespace(namespace)
        except InvalidInput as e:
            raise LookupError(str(e)) from e
        agent = self.agents.get(name)
        if agent is None:
            raise LookupError(f"no managed agent {name!r}")
        return agent

    def _refuse_when_stopping(self) -> None:
        if self._stopping.is_set():
            raise ShepherdError("the daemon is stopping; try again when it is back")

    async def exclusive(self, agent: AgentRuntime, what: str, work: Callable[[], T]) -> T:
        """Run ``work`` in the agent's own thread while holding its operation lock (and hand
        the memory it freed back to the system)."""
        self._refuse_when_stopping()

        def then_release() -> T:
            try:
                return work()
            finally:
                release_free_memory()

        async with agent.lock:
            agent.busy = what
            self.bus.publish("state", agent=agent.namespace, busy=what)
            try:
                return await agent.run_in_worker(then_release)
            finally:
                agent.busy = agent.progress = None
                self.bus.publish("state", agent=agent.namespace, busy=None)
                self.health.check(agent.namespace)  # it may have been restarted

    # ---- passes and rollbacks ------------------------------------------------------------
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
        self.settings.reload_if_changed()
        host = self.host
        what = "dry run" if dry_run else "updating" if forced else "checking"

        def work() -> PassResult:
            package = self._package_agent(agent.namespace)
            if package is not None:
                with host.client() as client:
                    return package.check(client, forced=forced, dry_run=dry_run, uid=uid)
            with host.client() as client:
                ctx = host.context(
                    agent.namespace,
                    client,
                    progress=progress_reporter(self.bus, agent),
                    who=f"shepherd daemon ({trigger})",
                )
                runner = host.update_pass(ctx, sleep=jitter_sleeper(agent, self._stopping))
                return runner.run(forced=forced, dry_run=dry_run, uid=uid, gate=host.canary_gate())

        result = await self.exclusive(agent, what, work)
        agent.last_check = self.host.clock.now()
        result = agent.with_next_check(result) if dry_run else result
        if not dry_run:
            agent.remember_pass(result.decision, result.outcome, agent.last_check)
            self._after_pass(agent, result, uid)
        return result

    def _after_pass(self, agent: AgentRuntime, result: PassResult, uid: int | None) -> None:
        decision = result.decision
        self.bus.publish("decision", agent=agent.namespace, decision=decision_json(decision))
        if result.unhealthy is not None:
            self.notify(agent.namespace, "agent-down", result.unhealthy)
        if result.repaired is not None:
            self.notify(agent.namespace, "repaired", result.repaired.message)
        if result.outcome is not None:
            agent.last_result = outcome_json(result.outcome)
            self.bus.publish("operation", agent=agent.namespace, **agent.last_result)
            if not result.outcome.cancelled:  # cancelled: update.yaml changed under us
                kind = "updated" if result.outcome.ok else "failed"
                self.notify(agent.namespace, kind, result.outcome.message)
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
            self.notify(agent.namespace, "blocked", decision.message)
        agent.last_recorded_reason = reason

    async def rollback(self, namespace: str, *, uid: int | None, reason: str) -> Outcome:
        agent = self.agent(namespace)
        self.settings.reload_if_changed()
        host = self.host

        def work() -> Outcome:
            package = self._package_agent(agent.namespace)
            if package is not None:
                with host.client() as client:
                    return package.rollback(client, uid=uid, reason=reason)
            with host.client() as client:
                ctx = host.context(agent.namespace, client, who="shepherd daemon (rollback)")
                return Transaction(ctx).rollback(uid=uid, reason=reason)

        outcome = await self.exclusive(agent, "rolling back", work)
        agent.last_result = outcome_json(outcome)
        self.bus.publish("operation", agent=agent.namespace, **agent.last_result)
        if outcome.ok:
            self.notify(agent.namespace, "rolled-back", outcome.message)
        else:
            self.notify(agent.namespace, "failed", outcome.message, title="Rollback failed")
        return outcome

    async def repair(self, agent: AgentRuntime) -> Outcome | None:
        """Finish or undo an update that a crash (of this daemon or a timer job) left."""
        host = self.host
        if agent.namespace != PACKAGE_AGENT:  # (the package agent is taken over here)
            layout = self.records.layout(host.root, agent.namespace)
            if not Journal(layout.state_dir).path.exists():
                return None  # nothing to repair: the agent never shows as busy for it

        def work() -> Outcome | None:
            package = self._package_agent(agent.namespace)
            if package is not None:  # its pass repairs an interrupted install first
                for note in package.take_over():
                    self.notices.tray_only(
                        agent.namespace, "info", "Package agent taken over", note
                    )
                return None
            with host.client() as client:
                ctx = host.context(agent.namespace, client, who="shepherd daemon (repair)")
                transaction = Transaction(ctx)
                return transaction.recover() if transaction.journal.path.exists() else None

        outcome = await self.exclusive(agent, "repairing", work)
        if outcome is not None:
            agent.last_result = outcome_json(outcome)
            self.notify(agent.namespace, "repaired", outcome.message)
        return outcome

    def _package_agent(self, namespace: str) -> PackageAgentRunner | None:
        """The package agent's runner when ``namespace`` is it (its package read afresh).

        Raises:
            StateError: it is managed but no Teleport package is installed any more.
        """
        if namespace != PACKAGE_AGENT:
            return None
        found = find_package_agent(self.host)
        if found is None:
            raise StateError("the package agent is managed, but no Teleport package is installed")
        return PackageAgentRunner(self.host, found)

    # ---- records: under the namespace flock, not behind a pass -------------------------
    async def set_spec(
        self, namespace: str, changes: Mapping[str, bool], *, uid: int | None
    ) -> dict[str, Any]:
        """Pin/unpin/enable/disable. Not behind the agent's operation lock: a pass waiting
        out its jitter must not hold a pin back. The flock orders it with a running
        transaction, which re-reads the spec under that lock; the interrupt ends a jitter
        wait early."""
        agent = self.agent(namespace)
        self._refuse_when_stopping()
        ops = AgentOperations(self.host)
        result = await asyncio.to_thread(
            ops.set_spec, agent.namespace, changes, uid=uid, who="shepherd daemon"
        )
        agent.interrupt.set()
        self.bus.publish("state", agent=agent.namespace, spec=dict(changes))
        return result

    async def clear_bad(self, namespace: str, version: str, *, uid: int | None) -> dict[str, Any]:
        """Forget that a version failed here (bad list and update.yaml's skip)."""
        agent = self.agent(namespace)
        self._refuse_when_stopping()
        package = await asyncio.to_thread(self._package_agent, agent.namespace)
        if package is not None:
            result = await asyncio.to_thread(package.clear_bad, version, uid=uid)
        else:
            ops = AgentOperations(self.host)
            result = await asyncio.to_thread(
                ops.clear_bad, agent.namespace, version, uid=uid, who="shepherd daemon"
            )
        agent.interrupt.set()
        agent.forget_held_back(str(result.get("version", version)))
        return result

    async def skip_version(
        self, namespace: str, revision: str, *, reason: str, uid: int | None
    ) -> dict[str, Any]:
        """Remember ``revision`` as bad without installing it ("skip this version")."""
        agent = self.agent(namespace)
        self._refuse_when_stopping()
        skip = AgentOperations(self.host).skip_version
        return await asyncio.to_thread(skip, agent.namespace, revision, reason=reason, uid=uid)

    async def add_agent(self, namespace: str, *, uid: int | None) -> dict[str, Any]:
        if namespace == PACKAGE_AGENT:
            return await self._add_package_agent(uid)
        ops = AgentOperations(self.host)
        report = await asyncio.to_thread(
            ops.adopt, namespace, uid=uid, managed_now=set(self.agents)
        )
        if not report.already:
            self._start_agent(report.agent)
            self.bus.publish("agents", agents=self.agent_names())
        return report.as_json()

    async def found_agents(self) -> list[dict[str, Any]]:
        """Agents on this host that Shepherd does not manage, with the foreign updater
        timers that are on for each."""
        found = await self.reader.found(set(self.agents))
        return [{"agent": n, "foreign_updaters": t} for n, t in sorted(found.items())]

    async def _add_package_agent(self, uid: int | None) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            found = find_package_agent(self.host)
            if found is None:
                raise StateError("cannot adopt the package agent: no Teleport package installed")
            answer = {"agent": PACKAGE_AGENT, "active": found.state.version, "problems": []}
            if PACKAGE_AGENT in self.agents:
                return {**answer, "notes": [], "already": True}
            notes = PackageAgentRunner(self.host, found).adopt(uid=uid)
            ManagedAgents(self.host).add(PACKAGE_AGENT)
            return {**answer, "notes": notes}

        answer = await asyncio.to_thread(work)
        if not answer.get("already"):
            self._start_agent(PACKAGE_AGENT)
            self.bus.publish("agents", agents=self.agent_names())
        return answer

    def _hand_back(self, namespace: str, uid: int | None) -> None:
        package = self._package_agent(namespace)
        if package is None:
            AgentOperations(self.host).hand_back(namespace, uid=uid)
            return
        package.hand_back(uid=uid)
        ManagedAgents(self.host).remove(namespace)

    async def remove_agent(self, namespace: str, *, uid: int | None) -> dict[str, Any]:
        agent = self.agent(namespace)
        async with agent.lock:
            await asyncio.to_thread(self._hand_back, agent.namespace, uid)
            self.agents.pop(agent.namespace, None)
            agent.wake.set()
            agent.stop_worker()
        self.bus.publish("agents", agents=self.agent_names())
        answer: dict[str, Any] = {"agent": agent.namespace, "removed": True}
        if agent.namespace == PACKAGE_AGENT:
            answer["note"] = "its version hold is released and teleport-upgrade.timer given back"
        return answer

    # ---- host settings and secrets -----------------------------------------------------
    async def change_settings(self, changes: dict[str, str | None], *, uid: int | None) -> None:
        await asyncio.to_thread(self.settings.change, changes, uid=uid)
        self.bus.publish("settings", keys=sorted(changes))

    async def set_secret(self, name: str, value: str | None, *, uid: int | None) -> bool:
        result = await asyncio.to_thread(self.settings.set_secret, name, value, uid=uid)
        self.bus.publish("settings", secrets=[name])
        return result

    def secrets_status(self) -> dict[str, Any]:
        return self.settings.secrets_status(tuple(self.agent_names()))

    async def notices_status(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.notices.status)

    async def send_test_notice(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.notices.send_test)

    def settings_answer(self) -> dict[str, Any]:
        return {
            "file": str(self.settings.file.path),
            "settings": self.host.settings.as_dict(),
            "problem": self.settings.problem,
            "secrets": self.secrets_status(),
        }

    # ---- reads -------------------------------------------------------------------------
    async def status(self, namespace: str) -> dict[str, Any]:
        agent = self.agent(namespace)
        answer = await self.reader.status(agent, set(self.agents))
        self.health.observe(agent.namespace, answer["health"])
        return answer

    async def statuses(self) -> list[dict[str, Any]]:
        agents = [self.agents[n] for n in self.agent_names()]
        answers = await self.reader.statuses(agents, set(self.agents))
        for agent, answer in zip(agents, answers, strict=True):
            self.health.observe(agent.namespace, answer["health"])
        return answers

    def history(self, namespace: str | None) -> list[History]:
        if namespace:
            return [History(self._state_dir(self.agent(namespace).namespace))]
        agents = [History(self._state_dir(n)) for n in self.agent_names()]
        return [History(self.host.state_dir), *agents]

    def events(self) -> AsyncIterator[bytes]:
        return self.bus.stream()

    def _state_dir(self, namespace: str) -> Path:
        if namespace == PACKAGE_AGENT:
            return PackageAgentRunner.state_dir_of(self.host)
        return self.host.layout(namespace).state_dir
