"""One update pass for a package agent (v1 host): the same policy, health check and history
as a v2 agent, with the system package manager doing the install.

    1  finish what an interrupted install left (``backend.repair``), reported in history
    2  read the installed version (the package database) and Shepherd's state: backup,
       skip, versions remembered as bad, the v1 two-strike marker
    3  ask the v1 channel (version, critical); read the schedule the agent exported
    4  ``policy.decide`` — critical, inside a window, or unhealthy twice; local windows and
       blackouts; the compatibility rule when the proxy's version is known
    5  on UPDATE: install exactly that version (signature enforced, lock kept), restart the
       agent, health-check it; on failure mark it skipped and install the previous version
       from the repository, restart, and record the rollback

A package agent has no update.yaml: whether it is pinned or enabled is Shepherd's own
``spec.json`` in its state dir (``load_spec`` / ``save_spec``), read at every pass and again
just before an install, so a pin or disable given meanwhile stops it.

The previous version comes from the repository, not a kept package file: Teleport's
repositories keep every release, and the package manager then checks it against the same
repository signature and key as any update (a kept file would need a second trust path).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import InvalidInput, InvalidSchedule, ServiceError, ShepherdError, StateError
from engine.fsutil import atomic_write
from engine.packages.detect import PackageAgent
from engine.packages.exact import ExactInstaller
from engine.policy.answers import ChannelAnswer
from engine.policy.decide import decide
from engine.policy.decision import Action, Decision, Reason
from engine.policy.inputs import AgentHealth, AgentState, ClusterView, DecisionInputs, LocalSettings
from engine.policy.schedule import ExportedSchedule
from engine.service.base import ServiceManager
from engine.service.health import HealthCheck, read_pid
from engine.service.restore import restart_and_check
from engine.store.agent_record import load_agent_record, save_agent_record
from engine.store.history import History, HistoryRecord
from engine.versions import Revision, Version

__all__ = ["SPEC_DEFAULTS", "PackageContext", "PackageOutcome", "PackagePass"]

_log = logging.getLogger(__name__)
_STATE = "package-state.json"
_SPEC = "spec.json"
SPEC_DEFAULTS: dict[str, bool] = {"enabled": True, "pinned": False}


@dataclass(frozen=True)
class PackageContext:
    agent: PackageAgent
    backend: ExactInstaller
    service: ServiceManager
    health: HealthCheck
    state_dir: Path  # Shepherd's own state and history for this agent
    pid_file: Path
    debug_socket: Path
    unit: str = "teleport"
    name: str = "package"  # the agent's name in history and status
    clock: Clock = SYSTEM_CLOCK


@dataclass(frozen=True)
class PackageOutcome:
    decision: Decision
    ok: bool = True
    event: str = ""  # "", "updated", "rolled-back", "failed", "refused"
    message: str = ""
    repaired: tuple[str, ...] = ()


class PackagePass:
    def __init__(
        self,
        ctx: PackageContext,
        channel: Callable[[], ChannelAnswer],
        settings: LocalSettings,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.ctx = ctx
        self.channel = channel
        self.settings = settings
        self.clock = clock or ctx.clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.history = History(ctx.state_dir)

    # ---- state --------------------------------------------------------------------------
    def _revision(self, version: str | None) -> Revision | None:
        return self.revision_of(self.ctx.agent, version)

    @staticmethod
    def revision_of(agent: PackageAgent, version: str | None) -> Revision | None:
        """``version`` of ``agent``'s edition as a revision; None when empty or invalid."""
        if not version:
            return None
        try:
            return Revision(Version.parse(version), agent.flags)
        except ShepherdError:
            return None

    def _own(self) -> dict[str, str]:
        return self.recorded(self.ctx.state_dir)

    @staticmethod
    def recorded(state_dir: Path) -> dict[str, str]:
        """Shepherd's own state of a package agent: ``backup`` and ``skip`` versions.

        Raises:
            StateError: the state file is unreadable.
        """
        path = state_dir / _STATE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise StateError(f"cannot read Shepherd's package state {path}: {e}") from e
        return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _save_own(self, **values: str) -> None:
        self.save_recorded(self.ctx.state_dir, **values)

    @staticmethod
    def save_recorded(state_dir: Path, **values: str) -> None:
        """Change Shepherd's own state of a package agent (``backup=``, ``skip=``)."""
        merged = {**PackagePass.recorded(state_dir), **values}
        state_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(state_dir / _STATE, json.dumps(merged, indent=2).encode())

    @staticmethod
    def load_spec(state_dir: Path) -> dict[str, bool]:
        """Whether the package agent is ``enabled`` and ``pinned`` (defaults: enabled, not
        pinned).

        Raises:
            StateError: the spec file is unreadable or not a mapping of booleans.
        """
        path = state_dir / _SPEC
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return dict(SPEC_DEFAULTS)
        except (OSError, ValueError) as e:
            raise StateError(f"cannot read the package agent's spec {path}: {e}") from e
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k, v), bool) for k, v in SPEC_DEFAULTS.items()
        ):
            raise StateError(f"invalid package agent spec {path}: {data!r}")
        return {k: bool(data.get(k, v)) for k, v in SPEC_DEFAULTS.items()}

    @staticmethod
    def save_spec(state_dir: Path, changes: dict[str, bool]) -> dict[str, bool]:
        """Change ``enabled`` / ``pinned`` (atomically); returns what changed."""
        unknown = sorted(set(changes) - set(SPEC_DEFAULTS))
        if unknown:
            raise InvalidInput(f"a package agent has no setting {', '.join(unknown)}")
        before = PackagePass.load_spec(state_dir)
        changed = {k: v for k, v in changes.items() if before[k] != v}
        if changed:
            state_dir.mkdir(parents=True, exist_ok=True)
            spec = {**before, **changes}
            atomic_write(state_dir / _SPEC, json.dumps(spec, indent=2).encode())
        return changed

    def _settings(self) -> LocalSettings:
        spec = self.load_spec(self.ctx.state_dir)
        return replace(self.settings, enabled=spec["enabled"], pinned=spec["pinned"])

    def inputs(self, *, forced: bool = False) -> DecisionInputs:
        installed = self.ctx.backend.installed(self.ctx.agent.package)
        own = self._own()
        stored = load_agent_record(self.ctx.state_dir)
        settings = self._settings()
        if not settings.enabled:
            cluster = ClusterView()  # disabled: no request is made (PROTOCOL 1.1, step 1)
        else:
            try:
                cluster = ClusterView(channel=self.channel())
            except ShepherdError as e:
                cluster = ClusterView(failure=str(e))
        return DecisionInputs(
            settings=settings,
            state=AgentState(
                active=self._revision(installed.version if installed else None),
                backup=self._revision(own.get("backup")),
                skip=self._revision(own.get("skip")),
                bad=stored.bad_revisions(),
                unhealthy_marked=stored.unhealthy_marked,
            ),
            cluster=cluster,
            now=self.clock.now(),
            health=AgentHealth(exported_schedule=self._schedule()),
            forced=forced,
        )

    def _schedule(self) -> ExportedSchedule | None:
        path = self.ctx.agent.upgrader.schedule_file
        try:
            return ExportedSchedule.parse(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, InvalidSchedule) as e:
            _log.warning("the agent's exported schedule %s is unreadable (%s): missing", path, e)
            return None

    # ---- the pass -------------------------------------------------------------------------
    def explain(self, *, forced: bool = False) -> Decision:
        return decide(self.inputs(forced=forced), self.rng)

    def run(self, *, forced: bool = False, uid: int | None = None) -> PackageOutcome:
        repaired = tuple(self.ctx.backend.repair())
        for line in repaired:
            self._record("repair", "repaired", "interrupted-install", line, uid=uid)
        package = self.ctx.agent.package
        if not self.ctx.backend.is_locked(package):  # an install killed between unlock and lock
            self.ctx.backend.lock(package)
        inputs = self.inputs(forced=forced)
        decision = decide(inputs, self.rng)
        mark = decision.mark_unhealthy
        stored = load_agent_record(self.ctx.state_dir)
        if mark is not None and mark != stored.unhealthy_marked:
            save_agent_record(self.ctx.state_dir, replace(stored, unhealthy_marked=mark))
        if decision.action is not Action.UPDATE or decision.target is None:
            return PackageOutcome(decision, repaired=repaired)
        return replace(
            self._update(decision, inputs.state.active, str(decision.reason), uid),
            repaired=repaired,
        )

    def rollback(self, *, uid: int | None = None, reason: str = "") -> PackageOutcome:
        """One-click rollback: install the backup version, remember the current one as bad."""
        installed = self.ctx.backend.installed(self.ctx.agent.package)
        current = self._revision(installed.version if installed else None)
        backup = self._revision(self._own().get("backup"))
        decision = Decision(
            Action.UPDATE, Reason.UPDATE_FORCED, "one-click rollback requested", target=backup
        )
        if backup is None or current is None:
            message = "there is no previous version to roll back to"
            self._record("rollback", "refused", "no-backup", message, uid=uid)
            return PackageOutcome(decision, False, "refused", message)
        stored = load_agent_record(self.ctx.state_dir)
        save_agent_record(
            self.ctx.state_dir, stored.mark_bad(current, reason or "rolled back by an admin", uid)
        )
        return self._update(decision, current, "rollback", uid, event="rollback")

    def hand_back(self) -> None:
        """Stop managing: release the version lock so the host's package manager may move it."""
        self.ctx.backend.release(self.ctx.agent.package)

    # ---- effects --------------------------------------------------------------------------
    def _update(
        self,
        decision: Decision,
        before: Revision | None,
        reason: str,
        uid: int | None,
        *,
        event: str = "update",
    ) -> PackageOutcome:
        assert decision.target is not None  # noqa: S101 - checked by the callers
        target = decision.target
        started = self.clock.monotonic()
        pid_before = read_pid(self.ctx.pid_file)
        package = self.ctx.agent.package
        spec = self._settings()
        if event == "update" and (spec.pinned or not spec.enabled):
            why = "pinned" if spec.pinned else "disabled"
            message = f"{package} was {why} while the update was being prepared: not updated"
            self._record(event, "cancelled", why, message, before, target, uid, started)
            return PackageOutcome(decision, True, "cancelled", message)
        try:
            self.ctx.backend.install_exact(package, str(target.version))
        except ShepherdError as e:
            self._record(event, "failed", reason, str(e), before, target, uid, started)
            return PackageOutcome(decision, False, "failed", str(e))
        health = self._restart_and_check(pid_before)
        if health is None:
            message = f"{package} {target.version} installed and healthy"
            if before is not None and event == "update":
                self._save_own(backup=str(before.version), skip="")
            self._record(event, "succeeded", reason, message, before, target, uid, started)
            return PackageOutcome(decision, True, "updated", message)
        if event == "update":
            self._save_own(skip=str(target.version))
        message = f"{package} {target.version} failed its health check ({health})"
        if before is None:
            self._record(event, "failed", reason, message, before, target, uid, started)
            return PackageOutcome(decision, False, "failed", message)
        try:
            self.ctx.backend.install_exact(package, str(before.version))
            # the failing version may have left the unit restarting or failed: start it
            again = self._restart_restored()
        except ShepherdError as e:
            message += f"; rolling back to {before.version} failed too: {e}"
            self._record(event, "failed", reason, message, before, target, uid, started)
            return PackageOutcome(decision, False, "failed", message)
        message += f"; rolled back to {before.version}"
        if again is not None:
            message += f", which is not healthy either ({again})"
        self._record(event, "rolled-back", reason, message, before, target, uid, started)
        return PackageOutcome(decision, False, "rolled-back", message)

    def _restart_and_check(self, pid_before: int | None) -> str | None:
        """Restart the agent (the package replaced its binary) and health-check it; returns
        why it is unhealthy, or None. A stopped agent is left stopped, as teleport-upgrade
        does."""
        try:
            if not self.ctx.service.is_active(self.ctx.unit):
                return None
            self.ctx.service.try_restart(self.ctx.unit)
        except ServiceError as e:
            return f"restart failed: {e}"
        result = self.ctx.health.check(
            self.ctx.pid_file,
            self.ctx.debug_socket,
            pid_before,
            service=self.ctx.service,
            unit=self.ctx.unit,
        )
        return None if result.ok else f"{result.reason}: {result.message}"

    def _restart_restored(self) -> str | None:
        """After a version that failed: bring the reinstalled one up, even from a crash loop."""
        result = restart_and_check(
            self.ctx.service,
            self.ctx.unit,
            self.ctx.health,
            self.ctx.pid_file,
            self.ctx.debug_socket,
        )
        return None if result.ok else f"{result.reason}: {result.message}"

    def _record(
        self,
        event: str,
        outcome: str,
        reason: str,
        message: str,
        before: Revision | None = None,
        target: Revision | None = None,
        uid: int | None = None,
        started: float | None = None,
    ) -> None:
        self.history.record(
            HistoryRecord.now(
                agent=self.ctx.name,
                event=event,
                outcome=outcome,
                reason=reason,
                message=message,
                from_revision=before.dir_name if before else None,
                to_revision=target.dir_name if target else None,
                uid=uid,
                duration_seconds=round(self.clock.monotonic() - started, 3) if started else None,
                extra={"package": self.ctx.agent.package, "manager": self.ctx.backend.kind},
            )
        )
