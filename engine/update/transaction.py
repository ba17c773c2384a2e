"""One update or rollback of one agent, journaled so a crash at any step is repaired.

Update (PROTOCOL §3), under the namespace lock:

    0  repair what a previous run left half-done (journal)
    1  make room: remove leftovers beside active and backup (at most three version dirs)
    2  install the target: checksum, download unless the installed marker matches, extract
    3  switch links and copy the unit (the previous links and unit are in the journal)
    4  reload the agent (reload, else try-restart; a stopped agent stays stopped)
    5  health check: PID changes then stays stable, then /readyz answers for the new PID
    6  success: backup = old active, active = target, the oldest version dir removed
       failure: skip = target, links and unit restored, the old version reloaded, the
       failed target removed: the backup stays, so a rollback is still there

Unlike teleport-update, the backup is kept until the target passed its health check; the
target is installed beside it (teleport-update removes the third dir at its next update).

Rollback (one click): the same switch, to the backup revision, health-checked; the version
rolled back from is remembered as bad (reason, who) until an admin clears it. It is refused,
saying why, when the backup failed here (``engine.policy.rollback``).

Nothing here decides *whether* to update: that is ``engine.policy``.
"""

from __future__ import annotations

from dataclasses import replace

from engine.errors import ArtifactError, NoSpace, ServiceError, ShepherdError, SourceError
from engine.install.revisions import installed_checksum
from engine.policy.failures import failure_kind
from engine.policy.rollback import rollback_refusal
from engine.service.health import HealthResult
from engine.store.agent_record import load_agent_record, save_agent_record
from engine.store.journal import Step
from engine.store.lock import NamespaceLock
from engine.store.update_yaml import LastUpdate, UpdateConfig, load_config, save_config
from engine.update.outcome import CANCELLED, Outcome, UpdateContext
from engine.update.recovery import recover_locked
from engine.update.steps import AgentSteps
from engine.versions import Revision

__all__ = ["Transaction"]


class Transaction:
    """Update or roll back one agent, each under its namespace lock, repairing first what a
    previous run left half-done."""

    def __init__(self, ctx: UpdateContext) -> None:
        self.ctx = ctx
        self.layout = ctx.layout
        self.steps = AgentSteps(ctx)
        self.journal = self.steps.journal
        self.lock = NamespaceLock(ctx.layout.lock_file, ctx.layout.state_dir / "lock-holder")

    # ---- public -----------------------------------------------------------------------
    def update(
        self, target: Revision, *, uid: int | None = None, reason: str = "", retry: bool = False
    ) -> Outcome:
        """Install, switch to and health-check ``target``; roll back by itself on failure.
        ``retry``: ``target`` is marked broken (skip) and its cool-down is over.

        Raises:
            LockTimeout: another updater holds the namespace.
            StateError: the namespace has no (valid) update.yaml.
        """
        with self.lock.acquire(timeout=self.ctx.lock_timeout, who=f"{self.ctx.who} update"):
            recover_locked(self.steps)
            return self._update_locked(target, uid, reason, retry)

    def rollback(self, *, uid: int | None = None, reason: str = "rolled back by hand") -> Outcome:
        """Switch back to the backup revision, health-checked; remember the active as bad."""
        with self.lock.acquire(timeout=self.ctx.lock_timeout, who=f"{self.ctx.who} rollback"):
            recover_locked(self.steps)
            return self._rollback_locked(uid, reason)

    def recover(self) -> Outcome | None:
        """Repair a run that died half-way (None when there was nothing to repair)."""
        with self.lock.acquire(timeout=self.ctx.lock_timeout, who=f"{self.ctx.who} recovery"):
            return recover_locked(self.steps)

    # ---- update -----------------------------------------------------------------------
    def _update_locked(
        self, target: Revision, uid: int | None, reason: str, retry: bool
    ) -> Outcome:
        started = self.ctx.clock.monotonic()
        config = self.steps.config()
        active = config.status.active
        changed = _no_longer_wanted(config, target, retry=retry)
        if changed is not None:  # e.g. pinned by teleport-update or an admin during the jitter
            message = f"update to {target} cancelled: {changed}; nothing changed"
            self.steps.record("update", CANCELLED, CANCELLED, message, active, target, uid, 0.0)
            return Outcome(False, CANCELLED, message, target, active)
        self.steps.make_room(config, target)
        entry = self.steps.begin("update", target, config)
        try:
            self.steps.install(target)
        except (ArtifactError, SourceError) as e:
            self.steps.journal.clear()
            return self._failed(
                config,
                target,
                active,
                "install-failed",
                f"could not install {target}: {e}{_kept_backup_note(e, config, target)}",
                started,
                uid,
                reason,
                mark_skip=False,
            )
        entry = self.steps.step(entry, Step.INSTALLED)
        try:
            self.steps.switch_to(target)
        except (ArtifactError, ServiceError, OSError) as e:
            self.steps.restore(entry)
            self.steps.journal.clear()
            return self._failed(
                config,
                target,
                active,
                "switch-failed",
                f"could not switch to {target} (undone): {e}",
                started,
                uid,
                reason,
                mark_skip=False,
            )
        entry = self.steps.step(entry, Step.SWITCHED)
        verified = self.steps.reload_and_verify(entry)
        health = verified.health
        if health is not None and not health.ok:
            self.steps.cleanup()
            message = (
                f"{target} failed its health check ({health.message}); rolled back to "
                f"{active or 'the previous installation'}{verified.restored_problem()}"
            )
            return self._failed(
                config,
                target,
                active,
                health.reason,
                message,
                started,
                uid,
                reason,
                mark_skip=True,
                health=health,
            )
        entry = self.steps.step(entry, Step.VERIFIED)
        self.steps.commit_update(config, target)
        self.steps.journal.clear()
        self.steps.cleanup()
        seconds = self.ctx.clock.monotonic() - started
        skipped = " (agent not running: health check skipped)" if health is None else ""
        message = f"updated {active or 'nothing'} -> {target}{skipped}"
        self.steps.record(
            "update", "succeeded", reason or "update", message, active, target, uid, seconds
        )
        return Outcome(True, "updated", message, target, active, health, seconds)

    def _failed(
        self,
        config: UpdateConfig,
        target: Revision,
        active: Revision | None,
        code: str,
        message: str,
        started: float,
        uid: int | None,
        reason: str,
        *,
        mark_skip: bool,
        health: HealthResult | None = None,
    ) -> Outcome:
        fresh = load_config(self.layout.update_yaml) or config
        status_changes: dict[str, object] = {
            "last_update": LastUpdate(False, self.ctx.clock.now(), target),
            "id_file": fresh.status.id_file or self.layout.recorded(self.layout.id_file),
        }
        if mark_skip:
            status_changes["skip"] = target
        save_config(self.layout.update_yaml, fresh.with_status(**status_changes))
        kind = failure_kind(code, came_up=health is not None and health.came_up)
        state = load_agent_record(self.layout.state_dir).failed_again(
            str(target.version), kind.value, message, self.ctx.clock.now()
        )
        save_agent_record(self.layout.state_dir, replace(state, last_failure=message))
        seconds = self.ctx.clock.monotonic() - started
        tries = state.failed[str(target.version)].tries
        extra: dict[str, object] = {"failure": kind.value, "failure_words": kind.words}
        extra["tries"] = tries
        if reason:
            extra["request"] = reason
        self.steps.record(
            "update", "failed", code, message, active, target, uid, seconds, extra=extra
        )
        return Outcome(False, code, message, target, active, health, seconds)

    # ---- rollback ---------------------------------------------------------------------
    def _rollback_locked(self, uid: int | None, reason: str) -> Outcome:
        started = self.ctx.clock.monotonic()
        config = self.steps.config()
        status = config.status
        active, backup = status.active, status.backup
        refusal = rollback_refusal(
            self.layout.namespace,
            active=active,
            backup=backup,
            backup_installed=backup is not None
            and installed_checksum(self.layout.versions_dir, backup) is not None,
            skip=status.skip,
            failed_target=status.failed_target,
            bad=load_agent_record(self.layout.state_dir).bad_revisions(),
        )
        if refusal is not None or backup is None:
            message = refusal.message if refusal else "no backup"
            code = refusal.code if refusal else "no-backup"
            self.steps.record("rollback", "failed", code, message, active, backup, uid, 0.0)
            raise ShepherdError(message)
        entry = self.steps.begin("rollback", backup, config)
        try:
            self.steps.switch_to(backup)
        except (ArtifactError, ServiceError, OSError) as e:
            self.steps.restore(entry)
            self.steps.journal.clear()
            raise ShepherdError(f"rollback to {backup} failed and was undone: {e}") from e
        entry = self.steps.step(entry, Step.SWITCHED)
        verified = self.steps.reload_and_verify(entry)
        health = verified.health
        if health is not None and not health.ok:
            message = (
                f"rollback to {backup} failed its health check ({health.message}); "
                f"staying on {active}{verified.restored_problem()}"
            )
            seconds = self.ctx.clock.monotonic() - started
            self.steps.record(
                "rollback", "failed", health.reason, message, active, backup, uid, seconds
            )
            return Outcome(False, health.reason, message, backup, active, health, seconds)
        entry = self.steps.step(entry, Step.VERIFIED)
        self.steps.commit_rollback(active, backup, uid, reason)
        self.steps.journal.clear()
        seconds = self.ctx.clock.monotonic() - started
        message = f"rolled back {active} -> {backup}; {active} is remembered as bad ({reason})"
        self.steps.record(
            "rollback", "succeeded", "rollback", message, active, backup, uid, seconds
        )
        return Outcome(True, "rolled-back", message, backup, active, health, seconds)


def _kept_backup_note(error: Exception, config: UpdateConfig, target: Revision) -> str:
    """Out of space: say that the kept backup takes part of it, and that it stays."""
    backup = config.status.backup
    if not isinstance(error, NoSpace) or backup is None or backup == target:
        return ""
    return (
        f" (the backup {backup} stays installed until {target} has passed its health check, "
        "so that a rollback is still possible: the space counts it)"
    )


def _no_longer_wanted(config: UpdateConfig, target: Revision, *, retry: bool) -> str | None:
    """What in update.yaml, read under the lock, now forbids the update (PROTOCOL §1.1
    steps 1, 5, 8 and 9 again): it may have changed since the decision. A ``retry`` is an
    update to the skipped version that the policy allowed after its cool-down."""
    spec, status = config.spec, config.status
    if not spec.enabled:
        return "updates were disabled meanwhile"
    if spec.pinned:
        return "the agent was pinned meanwhile"
    if status.active == target:
        return f"{target} is already active"
    if status.skip is not None and status.skip.version == target.version and not retry:
        return f"{target} was marked broken (skip) meanwhile"
    return None
