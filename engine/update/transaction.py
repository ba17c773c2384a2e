"""One update or rollback of one agent, journaled so a crash at any step is repaired.

Update (PROTOCOL §3), under the namespace lock:

    0  repair what a previous run left half-done (journal)
    1  delete the old backup (unless it is the target, the active or linked)
    2  install the target: checksum, download unless the installed marker matches, extract
    3  switch links and copy the unit (the previous links and unit are in the journal)
    4  reload the agent (reload, else try-restart; a stopped agent stays stopped)
    5  health check: PID changes then stays stable, then /readyz answers for the new PID
    6  success: backup = old active, active = target, clean up other versions
       failure: skip = target, links and unit restored, the old version reloaded

Rollback (one click): the same switch, to the backup revision, health-checked; the version
rolled back from is remembered as bad (reason, who) until an admin clears it.

Nothing here decides *whether* to update: that is ``engine.policy``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import httpx

from engine.errors import ArtifactError, ServiceError, ShepherdError, SourceError, StateError
from engine.fsutil import atomic_write, safe_rmtree
from engine.install.download import Progress, artifact_url, download_verified, fetch_checksum
from engine.install.links import (
    copy_unit,
    linked_revision,
    restore_links,
    snapshot_links,
    switch_links,
    unit_source,
)
from engine.install.revisions import (
    install_revision,
    installed_checksum,
    list_revisions,
    remove_revision,
)
from engine.service.base import Reload, ServiceManager
from engine.service.health import HealthCheck, HealthResult, read_pid
from engine.store.agent_record import load_agent_state, save_agent_state
from engine.store.history import History, HistoryRecord
from engine.store.journal import Journal, JournalEntry, Step
from engine.store.layout import Layout
from engine.store.lock import NamespaceLock
from engine.store.update_yaml import LastUpdate, UpdateConfig, load_config, save_config
from engine.versions import Revision

__all__ = ["Outcome", "Transaction", "UpdateContext"]

_log = logging.getLogger(__name__)
CANCELLED = "cancelled"


@dataclass
class UpdateContext:
    """Everything one agent's transactions need, built once and passed down."""

    layout: Layout
    service: ServiceManager
    health: HealthCheck
    client: httpx.Client
    base_url: str | None = None
    arch: str | None = None
    download_headers: Mapping[str, str] = field(default_factory=dict)
    progress: Callable[[Progress], None] | None = None
    step_hook: Callable[[Step], None] | None = None
    lock_timeout: float | None = 30.0
    who: str = "shepherd"

    @property
    def history(self) -> History:
        return History(self.layout.state_dir)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    reason: str  # stable code
    message: str
    target: Revision | None
    previous: Revision | None
    health: HealthResult | None = None
    seconds: float = 0.0

    @property
    def cancelled(self) -> bool:
        """Nothing was tried: update.yaml changed between the decision and the lock."""
        return self.reason == CANCELLED


class Transaction:
    def __init__(self, ctx: UpdateContext) -> None:
        self.ctx = ctx
        self.layout = ctx.layout
        self.journal = Journal(ctx.layout.state_dir)
        self.lock = NamespaceLock(ctx.layout.lock_file, ctx.layout.state_dir / "lock-holder")

    # ---- public -----------------------------------------------------------------------
    def update(self, target: Revision, *, uid: int | None = None, reason: str = "") -> Outcome:
        """Install, switch to and health-check ``target``; roll back by itself on failure.

        Raises:
            LockTimeout: another updater holds the namespace.
            StateError: the namespace has no (valid) update.yaml.
        """
        with self.lock.acquire(timeout=self.ctx.lock_timeout, who=f"{self.ctx.who} update"):
            self._recover_locked()
            return self._update_locked(target, uid, reason)

    def rollback(self, *, uid: int | None = None, reason: str = "rolled back by hand") -> Outcome:
        """Switch back to the backup revision, health-checked; remember the active as bad."""
        with self.lock.acquire(timeout=self.ctx.lock_timeout, who=f"{self.ctx.who} rollback"):
            self._recover_locked()
            return self._rollback_locked(uid, reason)

    def recover(self) -> Outcome | None:
        """Repair a run that died half-way (None when there was nothing to repair)."""
        with self.lock.acquire(timeout=self.ctx.lock_timeout, who=f"{self.ctx.who} recovery"):
            return self._recover_locked()

    # ---- update -----------------------------------------------------------------------
    def _config(self) -> UpdateConfig:
        config = load_config(self.layout.update_yaml)
        if config is None:
            raise StateError(
                f"{self.layout.update_yaml} does not exist: agent {self.layout.namespace!r} is "
                "not managed (adopt it with 'shepherd agents add')"
            )
        return config

    def _begin(self, operation: str, target: Revision, config: UpdateConfig) -> JournalEntry:
        """Journal what a revert needs (links, unit, versions) before anything changes."""
        active, backup = config.status.active, config.status.backup
        entry = JournalEntry(
            operation=operation,
            target=target.dir_name,
            previous_active=active.dir_name if active else None,
            previous_backup=backup.dir_name if backup else None,
            links=snapshot_links(self.layout.link_dir),
            unit_saved=self.journal.save_unit(self.layout.unit_file),
            step=Step.BEGIN,
            started=_now(),
        )
        return self._step(entry, Step.BEGIN)

    def _reload_and_verify(self, entry: JournalEntry) -> HealthResult | None:
        """Reload and health-check; on failure put links and unit back as journaled and
        reload the previous version (the caller records why)."""
        health = self._reload_and_check(entry)
        if health is not None and not health.ok:
            self._restore(entry)
            self._reload_quietly()
            self.journal.clear()
        return health

    def _step(self, entry: JournalEntry, step: Step) -> JournalEntry:
        entry = entry.at(step)
        self.journal.write(entry)
        if self.ctx.step_hook is not None:
            self.ctx.step_hook(step)
        return entry

    def _update_locked(self, target: Revision, uid: int | None, reason: str) -> Outcome:
        started = time.monotonic()
        config = self._config()
        active = config.status.active
        changed = _no_longer_wanted(config, target)
        if changed is not None:  # e.g. pinned by teleport-update or an admin during the jitter
            message = f"update to {target} cancelled: {changed}; nothing changed"
            self._record("update", CANCELLED, CANCELLED, message, active, target, uid, 0.0)
            return Outcome(False, CANCELLED, message, target, active)
        self._delete_old_backup(config, target)
        entry = self._begin("update", target, config)
        try:
            self._install(target)
        except (ArtifactError, SourceError) as e:
            self.journal.clear()
            return self._failed(
                config,
                target,
                active,
                "install-failed",
                f"could not install {target}: {e}",
                started,
                uid,
                reason,
                mark_skip=False,
            )
        entry = self._step(entry, Step.INSTALLED)
        try:
            self._switch_to(target)
        except (ArtifactError, ServiceError, OSError) as e:
            self._restore(entry)
            self.journal.clear()
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
        entry = self._step(entry, Step.SWITCHED)
        health = self._reload_and_verify(entry)
        if health is not None and not health.ok:
            self._cleanup()
            message = (
                f"{target} failed its health check ({health.message}); rolled back to "
                f"{active or 'the previous installation'}"
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
        entry = self._step(entry, Step.VERIFIED)
        self._commit_update(config, target)
        self.journal.clear()
        self._cleanup()
        seconds = time.monotonic() - started
        skipped = " (agent not running: health check skipped)" if health is None else ""
        message = f"updated {active or 'nothing'} -> {target}{skipped}"
        self._record(
            "update", "succeeded", reason or "update", message, active, target, uid, seconds
        )
        return Outcome(True, "updated", message, target, active, health, seconds)

    def _delete_old_backup(self, config: UpdateConfig, target: Revision) -> None:
        backup, active = config.status.backup, config.status.active
        if backup is None or backup in (target, active):
            return
        if backup.dir_name == linked_revision(self.layout):
            return
        try:
            remove_revision(self.layout.versions_dir, backup, linked=set())
        except ArtifactError as e:
            _log.warning("could not delete the old backup %s: %s", backup, e)

    def _install(self, target: Revision) -> None:
        url = artifact_url(target, base_url=self.ctx.base_url, arch=self.ctx.arch)
        digest = fetch_checksum(self.ctx.client, url, headers=dict(self.ctx.download_headers))
        if installed_checksum(self.layout.versions_dir, target) == digest:
            return
        downloads = self.layout.state_dir / "downloads"
        archive = download_verified(
            self.ctx.client,
            url,
            downloads,
            digest,
            progress=self.ctx.progress,
            headers=dict(self.ctx.download_headers),
        )
        try:
            linked = linked_revision(self.layout)
            install_revision(
                archive,
                digest,
                self.layout.versions_dir,
                target,
                linked={linked} if linked else (),
            )
        finally:
            archive.unlink(missing_ok=True)

    def _switch_to(self, revision: Revision) -> None:
        version_dir = self.layout.version_dir(revision)
        switch_links(
            version_dir / "bin", self.layout.link_dir, versions_dir=self.layout.versions_dir
        )
        copy_unit(unit_source(version_dir), self.layout, revision=revision)
        self.ctx.service.daemon_reload()

    def _reload_and_check(self, entry: JournalEntry | None) -> HealthResult | None:
        """Reload; health-check unless the agent was not running (then None). With a
        journal ``entry``, the RELOADED step is journaled once the reload was sent."""
        before = read_pid(self.layout.pid_file)
        try:
            outcome = self.ctx.service.reload(self.layout.unit_name)
        except ServiceError as e:
            _log.error("reloading %s failed: %s", self.layout.unit_name, e)
            return HealthResult(False, "reload-failed", str(e), None, 0.0)
        if outcome.warning:
            _log.warning("%s", outcome.warning)
        if entry is not None:
            self._step(entry, Step.RELOADED)
        if outcome.result is Reload.NOT_RUNNING:
            return None
        return self.ctx.health.check(
            self.layout.pid_file,
            self.layout.debug_socket,
            before,
            service=self.ctx.service,
            unit=self.layout.unit_name,
        )

    def _restore(self, entry: JournalEntry) -> None:
        """Put links and unit back exactly as the journal recorded them."""
        restore_links(self.layout.link_dir, entry.links, only_into=self.layout.versions_dir)
        unit = self.layout.unit_file
        if entry.unit_saved and self.journal.unit_copy.is_file():
            atomic_write(unit, self.journal.unit_copy.read_bytes(), mode=0o644)
        elif not entry.unit_saved:
            unit.unlink(missing_ok=True)
        try:
            self.ctx.service.daemon_reload()
        except ServiceError as e:
            _log.warning("daemon-reload after restoring the unit failed: %s", e)

    def _reload_quietly(self) -> None:
        try:
            self.ctx.service.reload(self.layout.unit_name)
        except ServiceError as e:
            _log.error("reloading the previous version failed: %s", e)

    def _commit_update(self, config: UpdateConfig, target: Revision) -> None:
        fresh = self._config()
        now = datetime.now(UTC)
        active = fresh.status.active
        skip = fresh.status.skip if fresh.status.skip != target else None
        save_config(
            self.layout.update_yaml,
            fresh.with_status(
                active=target,
                backup=active if active != target else fresh.status.backup,
                skip=skip,
                last_update=LastUpdate(True, now, target),
            ),
        )
        state = load_agent_state(self.layout.state_dir)
        save_agent_state(self.layout.state_dir, state.activated(target, now))

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
            "last_update": LastUpdate(False, datetime.now(UTC), target)
        }
        if mark_skip:
            status_changes["skip"] = target
        save_config(self.layout.update_yaml, fresh.with_status(**status_changes))
        state = load_agent_state(self.layout.state_dir)
        save_agent_state(self.layout.state_dir, replace(state, last_failure=message))
        seconds = time.monotonic() - started
        self._record(
            "update",
            "failed",
            code,
            message,
            active,
            target,
            uid,
            seconds,
            extra={"request": reason} if reason else None,
        )
        return Outcome(False, code, message, target, active, health, seconds)

    def _cleanup(self) -> None:
        config = self._config()
        keep = {r.dir_name for r in (config.status.active, config.status.backup) if r}
        linked = {name for name in [linked_revision(self.layout)] if name}
        for revision in list_revisions(self.layout.versions_dir):
            if revision.dir_name in keep or revision.dir_name in linked:
                continue
            try:
                remove_revision(self.layout.versions_dir, revision, linked=linked)
            except ArtifactError as e:
                _log.warning("could not clean up %s: %s", revision, e)

    # ---- rollback ---------------------------------------------------------------------
    def _rollback_locked(self, uid: int | None, reason: str) -> Outcome:
        started = time.monotonic()
        config = self._config()
        active, backup = config.status.active, config.status.backup
        if backup is None or installed_checksum(self.layout.versions_dir, backup) is None:
            message = (
                f"agent {self.layout.namespace!r} has no installed backup version to roll back to"
                + (f" ({backup} was removed to make room for an update)" if backup else "")
            )
            self._record("rollback", "failed", "no-backup", message, active, backup, uid, 0.0)
            raise ShepherdError(message)
        if backup in load_agent_state(self.layout.state_dir).bad_revisions():
            message = (
                f"the backup {backup} of agent {self.layout.namespace!r} is remembered as bad; "
                f"clear it first ('shepherd clear-bad {self.layout.namespace} {backup.version}')"
            )
            self._record(
                "rollback", "failed", "backup-marked-bad", message, active, backup, uid, 0.0
            )
            raise ShepherdError(message)
        entry = self._begin("rollback", backup, config)
        try:
            self._switch_to(backup)
        except (ArtifactError, ServiceError, OSError) as e:
            self._restore(entry)
            self.journal.clear()
            raise ShepherdError(f"rollback to {backup} failed and was undone: {e}") from e
        entry = self._step(entry, Step.SWITCHED)
        health = self._reload_and_verify(entry)
        if health is not None and not health.ok:
            message = (
                f"rollback to {backup} failed its health check ({health.message}); "
                f"staying on {active}"
            )
            seconds = time.monotonic() - started
            self._record("rollback", "failed", health.reason, message, active, backup, uid, seconds)
            return Outcome(False, health.reason, message, backup, active, health, seconds)
        entry = self._step(entry, Step.VERIFIED)
        self._commit_rollback(active, backup, uid, reason)
        self.journal.clear()
        seconds = time.monotonic() - started
        message = f"rolled back {active} -> {backup}; {active} is remembered as bad ({reason})"
        self._record("rollback", "succeeded", "rollback", message, active, backup, uid, seconds)
        return Outcome(True, "rolled-back", message, backup, active, health, seconds)

    def _commit_rollback(
        self, active: Revision | None, backup: Revision, uid: int | None, reason: str
    ) -> None:
        config = self._config()
        save_config(
            self.layout.update_yaml,
            config.with_status(active=backup, backup=active),
        )
        state = load_agent_state(self.layout.state_dir).activated(backup)
        if active is not None:
            state = state.mark_bad(active, reason, uid)
        save_agent_state(self.layout.state_dir, state)

    # ---- recovery ---------------------------------------------------------------------
    def _recover_locked(self) -> Outcome | None:
        self._remove_leftovers()
        entry = self.journal.read()
        if entry is None:
            return None
        target = Revision.parse_dir_name(entry.target)
        previous = Revision.parse_dir_name(entry.previous_active) if entry.previous_active else None
        if entry.step is Step.VERIFIED:
            if entry.operation == "update":
                self._commit_update(self._config(), target)
                self._cleanup()
            else:
                self._commit_rollback(previous, target, None, "rollback finished after a crash")
            self.journal.clear()
            message = f"finished an interrupted {entry.operation} to {target}"
            self._record(
                entry.operation,
                "succeeded",
                "recovered-forward",
                message,
                previous,
                target,
                None,
                0.0,
            )
            return Outcome(True, "recovered-forward", message, target, previous)
        health: HealthResult | None = None
        if entry.step in (Step.SWITCHED, Step.RELOADED):
            self._restore(entry)
            health = self._reload_restored()
        self.journal.clear()
        self._cleanup()  # the target never became active: only active and backup stay
        message = (
            f"an interrupted {entry.operation} to {target} (stopped after step "
            f"'{entry.step}') was rolled back; {previous or 'the previous state'} stays"
        )
        if health is not None and not health.ok:
            message += f", but it failed its health check after the reload ({health.message})"
        self._record(
            entry.operation, "failed", "recovered-back", message, previous, target, None, 0.0
        )
        return Outcome(False, "recovered-back", message, target, previous, health)

    def _reload_restored(self) -> HealthResult | None:
        """Reload the restored version and wait until it is healthy, so that the caller (the
        next update, right after) never reloads an agent that is still re-executing."""
        return self._reload_and_check(None)

    def _remove_leftovers(self) -> None:
        """Delete what a kill -9 left half-written or half-deleted: verified archives that
        were being unpacked (partial downloads stay, to resume), temporary install dirs
        (``.<rev>.partial-<pid>``, see ``install_revision``) and version dirs without their
        ``sha256`` marker (written last, removed first). Never the linked or active one."""
        downloads = self.layout.state_dir / "downloads"
        if downloads.is_dir():
            for archive in downloads.glob("*.tar.gz"):
                archive.unlink(missing_ok=True)
        versions = self.layout.versions_dir
        if not versions.is_dir():
            return
        config = load_config(self.layout.update_yaml)
        active = config.status.active if config else None
        keep = {linked_revision(self.layout), active.dir_name if active else None}
        for child in versions.iterdir():
            name, partial, _ = child.name.removeprefix(".").partition(".partial-")
            if child.name.startswith(".") != bool(partial) or name in keep:
                continue
            if not partial and (child / "sha256").exists():
                continue
            try:
                Revision.parse_dir_name(name)
            except ShepherdError:
                continue
            if child.is_symlink() or not child.is_dir():
                continue
            _log.warning("removing %s: left incomplete by an interrupted run", child)
            try:
                safe_rmtree(child, must_be_under=versions)
            except (OSError, ValueError) as e:
                _log.warning("could not remove %s: %s", child, e)

    # ---- history ----------------------------------------------------------------------
    def _record(
        self,
        event: str,
        outcome: str,
        reason: str,
        message: str,
        previous: Revision | None,
        target: Revision | None,
        uid: int | None,
        seconds: float,
        extra: dict[str, object] | None = None,
    ) -> None:
        self.ctx.history.record(
            HistoryRecord.now(
                agent=self.layout.namespace,
                event=event,
                outcome=outcome,
                reason=reason,
                message=message,
                from_revision=str(previous) if previous else None,
                to_revision=str(target) if target else None,
                uid=uid,
                duration_seconds=round(seconds, 3),
                extra=extra or {},
            )
        )


def _no_longer_wanted(config: UpdateConfig, target: Revision) -> str | None:
    """What in update.yaml, read under the lock, now forbids the update (PROTOCOL §1.1
    steps 1, 5, 8 and 9 again): it may have changed since the decision."""
    spec, status = config.spec, config.status
    if not spec.enabled:
        return "updates were disabled meanwhile"
    if spec.pinned:
        return "the agent was pinned meanwhile"
    if status.active == target:
        return f"{target} is already active"
    if status.skip is not None and status.skip.version == target.version:
        return f"{target} was marked broken (skip) meanwhile"
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
