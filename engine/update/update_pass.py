"""One update pass for one agent: gather the inputs, decide, act (PROTOCOL §1.1, §4).

    1  repair a run that died half-way (the step journal), if there is one
    2  read update.yaml; steps 1-3 (disabled, link dir, https base URL) ask no one
    3  ask the cluster (v2 find, else the proxy's v1 channel) with the stable updater id
    4  read what we know: active/backup/skip, versions remembered as bad, the v1 marker and
       the schedule the agent exported
    5  ``policy.decide``; the host-local canary gate on top (``engine.update.canary``)
    6  keep the v1 two-strike marker; on UPDATE wait out the jitter, then run the transaction

This is the imperative shell around the pure policy: every effect is here or below.
The daemon runs it on a timer; ``shepherd update --local`` runs it once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from engine.clock import Clock
from engine.errors import InvalidSchedule
from engine.policy.decide import decide, preflight
from engine.policy.decision import Action, Decision, Reason
from engine.policy.failures import FailedVersion, FailureKind
from engine.policy.inputs import AgentHealth, AgentState, ClusterView, DecisionInputs
from engine.policy.schedule import ExportedSchedule
from engine.settings.model import Settings
from engine.sources.cluster import ask_cluster
from engine.store.agent_record import AgentRecord, load_agent_record, save_agent_record
from engine.store.history import HistoryRecord
from engine.store.lock import NamespaceLock
from engine.store.update_yaml import UpdateConfig, load_config
from engine.store.updater_id import load_or_create_updater_id
from engine.update.canary import CanaryGate
from engine.update.effective import EffectiveSettings, Overrides, effective_settings
from engine.update.outcome import Outcome, UpdateContext
from engine.update.transaction import Transaction
from engine.update.unhealthy import count_unhealthy, health_problem, reinstall_active, reset_count

__all__ = ["PassResult", "UpdatePass", "failed_versions"]

_log = logging.getLogger(__name__)
FAILURE_KINDS = {kind.value for kind in FailureKind}
# Decisions for agents Shepherd does not update now: their health is not its business.
_NOT_OURS = {Reason.NOT_CONFIGURED, Reason.DISABLED, Reason.FOREIGN_UPDATER}

# Waits ``seconds`` (the jitter); returns False when the wait was cancelled (shutdown).
Sleeper = Callable[[float], bool]


@dataclass(frozen=True)
class PassResult:
    """What one pass decided and, when it acted, how the update or repair ended."""

    namespace: str
    decision: Decision
    outcome: Outcome | None = None
    repaired: Outcome | None = None
    cancelled: bool = False
    unhealthy: str | None = None  # the agent was down or unhealthy at N checks in a row

    @property
    def failed(self) -> bool:
        tried = self.outcome is not None and not self.outcome.cancelled
        return (tried and self.outcome is not None and not self.outcome.ok) or (
            self.decision.action is Action.ERROR
        )


class UpdatePass:
    """Runs passes for one agent namespace.

    Args:
        ctx: the agent's paths, service manager, health check and HTTP client.
        settings: Shepherd's host settings; with update.yaml and ``overrides`` they give the
            agent's effective settings (``engine.update.effective``) at every pass.
        overrides: what the command line decides (base URL, CA bundle).
        clock, rng, sleep: injected so tests and the demo control time and randomness.
    """

    def __init__(
        self,
        ctx: UpdateContext,
        *,
        settings: Settings | None = None,
        overrides: Overrides | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        sleep: Sleeper | None = None,
    ) -> None:
        self.ctx = ctx
        self.clock = clock or ctx.clock
        self.layout = ctx.layout
        self.settings = settings or Settings()
        self.overrides = overrides
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.sleep = sleep or _sleep

    def explain(self, *, forced: bool = False, gate: CanaryGate | None = None) -> Decision:
        """What a pass would decide now, without acting (asks the cluster)."""
        decision, _ = self._decide(forced=forced, gate=gate)
        return decision

    def run(
        self,
        *,
        forced: bool = False,
        dry_run: bool = False,
        uid: int | None = None,
        gate: CanaryGate | None = None,
    ) -> PassResult:
        """One pass: repair, decide, and (unless ``dry_run``) act on the decision."""
        namespace = self.layout.namespace
        repaired = None
        if not dry_run and Transaction(self.ctx).journal.path.exists():
            repaired = Transaction(self.ctx).recover()
        decision, stored = self._decide(forced=forced, gate=gate)
        if dry_run:
            return PassResult(namespace, decision, repaired=repaired)
        self._keep_marker(decision, stored)
        unhealthy, recover = self._look_at_health(decision)
        if recover and unhealthy is not None:
            return self._recover(unhealthy, uid, gate, repaired)
        if decision.action is not Action.UPDATE or decision.target is None:
            return PassResult(namespace, decision, repaired=repaired, unhealthy=unhealthy)
        delay = decision.delay.total_seconds()
        if delay > 0 and not self.sleep(delay):
            return PassResult(namespace, decision, repaired=repaired, cancelled=True)
        outcome = Transaction(self.ctx).update(
            decision.target, uid=uid, reason=decision.reason, retry=decision.retrying
        )
        return PassResult(namespace, decision, outcome, repaired, unhealthy=unhealthy)

    # ---- an unhealthy agent (engine.update.unhealthy) ---------------------------------
    def _look_at_health(self, decision: Decision) -> tuple[str | None, bool]:
        """Count this check; at ``policy.unhealthy_checks`` in a row, say so (the first
        time) and whether to recover now. Only for agents Shepherd updates."""
        if decision.reason in _NOT_OURS:
            return None, False
        problem = health_problem(self.layout)
        count = count_unhealthy(self.ctx, problem)
        needed = self.settings.get_count("policy.unhealthy_checks")
        if problem is None or count < needed:
            return None, False
        notice = (
            f"Agent {self.layout.namespace!r} was found down or unhealthy at {count} checks "
            f"in a row: {problem}."
        )
        recover = self.settings.get_bool("policy.recover_unhealthy")
        if count == needed or recover:
            self.ctx.history.record(
                HistoryRecord.now(
                    agent=self.layout.namespace,
                    event="health",
                    outcome="failed",
                    reason=Reason.UNHEALTHY_AGENT.value,
                    message=notice,
                    extra={"checks": count, "recover": recover},
                )
            )
        return (notice if count == needed or recover else None), recover

    def _recover(
        self, notice: str, uid: int | None, gate: CanaryGate | None, repaired: Outcome | None
    ) -> PassResult:
        """Apply the pending update now, or reinstall the active version when none is."""
        namespace = self.layout.namespace
        pending, _ = self._decide(forced=True, gate=gate)
        reset_count(self.ctx)
        if pending.action is Action.UPDATE and pending.target is not None:
            decision = replace(
                pending,
                reason=Reason.RECOVER_UNHEALTHY,
                message=f"{notice} Recovering: applying the pending update to "
                f"{pending.target} now.",
                delay=timedelta(0),
            )
            outcome = Transaction(self.ctx).update(
                pending.target, uid=uid, reason=decision.reason, retry=pending.retrying
            )
            return PassResult(namespace, decision, outcome, repaired, unhealthy=notice)
        decision = Decision(
            Action.UPDATE,
            Reason.RECOVER_UNHEALTHY,
            f"{notice} Recovering: no update is pending ({pending.reason.value}), so the "
            "active version is reinstalled and restarted.",
        )
        outcome = reinstall_active(self.ctx, notice.rstrip("."))
        return PassResult(namespace, decision, outcome, repaired, unhealthy=notice)

    # ---- inputs -----------------------------------------------------------------------
    def _decide(self, *, forced: bool, gate: CanaryGate | None) -> tuple[Decision, AgentRecord]:
        config = load_config(self.layout.update_yaml)
        stored = load_agent_record(self.layout.state_dir)
        if config is None:
            return self._not_managed(), stored
        foreign = self.ctx.foreign.active(self.layout.namespace)
        if foreign:
            return self._foreign_updater(foreign), stored
        effective = effective_settings(self.settings, config, self.layout.namespace, self.overrides)
        settings = effective.policy()
        early = preflight(settings)
        if early is not None:
            return early, stored
        cluster = self._ask(config, effective)
        status = config.status
        inputs = DecisionInputs(
            settings=settings,
            state=AgentState(
                active=status.active,
                backup=status.backup,
                skip=status.skip,
                bad=stored.bad_revisions(),
                unhealthy_marked=stored.unhealthy_marked,
                failed=failed_versions(stored),
            ),
            cluster=cluster,
            now=self.clock.now(),
            health=AgentHealth(exported_schedule=self._exported_schedule(cluster)),
            forced=forced,
        )
        decision = decide(inputs, self.rng)
        if gate is not None and decision.action is Action.UPDATE and decision.target is not None:
            held = gate.hold(self.layout.namespace, decision.target, inputs.now)
            if held is not None:
                decision = held
        return decision, stored

    def _not_managed(self) -> Decision:
        return Decision(
            Action.NOTHING,
            Reason.NOT_CONFIGURED,
            f"Agent {self.layout.namespace!r} has no {self.layout.update_yaml}: it is not "
            "managed, so Shepherd does nothing and asks no one.",
        )

    def _foreign_updater(self, timers: list[str]) -> Decision:
        return Decision(
            Action.NOTHING,
            Reason.FOREIGN_UPDATER,
            f"{', '.join(timers)} is active for agent {self.layout.namespace!r}: Teleport's "
            "own updater updates it, so Shepherd does not. Adopting it again "
            "('shepherd agents add') turns that timer off.",
        )

    def _ask(self, config: UpdateConfig, effective: EffectiveSettings) -> ClusterView:
        return ask_cluster(
            self.ctx.client,
            effective.proxy.value or "",
            group=effective.group.value,
            update_id=self._updater_id(config),
            channel=effective.channel.value,
        )

    def _updater_id(self, config: UpdateConfig) -> str | None:
        id_file = self.layout.id_file
        if config.status.id_file:
            recorded = Path(config.status.id_file)
            id_file = (
                recorded
                if recorded.is_relative_to(self.layout.root)
                else (self.layout.under_root(config.status.id_file))
            )
        try:
            return load_or_create_updater_id(
                id_file, self.layout.host_uuid_file, self.layout.machine_id_file
            )
        except OSError as e:
            _log.warning("no updater id (%s): asking the cluster without update_id", e)
            return None

    def _exported_schedule(self, cluster: ClusterView) -> ExportedSchedule | None:
        """The v1 schedule the agent exported; None when missing or unreadable (unhealthy)."""
        if cluster.channel is None:
            return None
        path = self.layout.schedule_file
        try:
            return ExportedSchedule.parse(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, InvalidSchedule) as e:
            _log.warning("the agent's exported schedule %s is unreadable (%s): missing", path, e)
            return None

    def _keep_marker(self, decision: Decision, stored: AgentRecord) -> None:
        mark = decision.mark_unhealthy
        if mark is None or mark == stored.unhealthy_marked:
            return
        lock = NamespaceLock(self.layout.lock_file, self.layout.state_dir / "lock-holder")
        with lock.acquire(timeout=self.ctx.lock_timeout, who=f"{self.ctx.who} (v1 marker)"):
            fresh = load_agent_record(self.layout.state_dir)
            save_agent_record(self.layout.state_dir, replace(fresh, unhealthy_marked=mark))


def failed_versions(record: AgentRecord) -> dict[str, FailedVersion]:
    """The record's failed versions as the policy reads them (unreadable entries skipped:
    the version then stays skipped, as teleport-update would leave it)."""
    found = {}
    for version, failed in record.failed.items():
        try:
            when = datetime.fromisoformat(failed.time)
        except ValueError:
            continue
        kind = FailureKind(failed.kind) if failed.kind in FAILURE_KINDS else FailureKind.NEVER_READY
        found[version] = FailedVersion(version, kind, failed.message, when, max(failed.tries, 1))
    return found


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return True
