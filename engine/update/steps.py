"""The journaled steps of an update or a rollback on one agent's files and service: each
step either finishes or can be put back from the journal, and every step is recorded.

``Transaction`` (update, rollback) and ``recovery`` (repair after a crash) are built from
these; neither takes the lock here: the caller holds it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from engine.errors import ArtifactError, ServiceError, StateError
from engine.fsutil import atomic_write
from engine.install.download import artifact_url, download_verified, fetch_checksum
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
from engine.service.base import Reload
from engine.service.health import HealthResult, read_pid
from engine.service.restore import restart_and_check
from engine.store.agent_record import load_agent_record, save_agent_record
from engine.store.history import HistoryRecord
from engine.store.journal import Journal, JournalEntry, Step
from engine.store.update_yaml import LastUpdate, UpdateConfig, load_config, save_config
from engine.update.outcome import UpdateContext
from engine.versions import Revision

__all__ = ["AgentSteps", "Verification"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verification:
    """What ``reload_and_verify`` saw: the new version's check (None when the agent was not
    running) and, when that failed, the check of the version put back."""

    health: HealthResult | None
    restored: HealthResult | None = None

    @property
    def failed(self) -> bool:
        return self.health is not None and not self.health.ok

    def restored_problem(self) -> str:
        """``", which is not healthy either (...)"`` when the restored version is down too."""
        if self.restored is None or self.restored.ok:
            return ""
        return f", which is not healthy either ({self.restored.message})"


class AgentSteps:
    """The steps on one agent (``ctx.layout``), journaled in its state directory."""

    def __init__(self, ctx: UpdateContext) -> None:
        self.ctx = ctx
        self.layout = ctx.layout
        self.journal = Journal(ctx.layout.state_dir)

    def config(self) -> UpdateConfig:
        """The agent's update.yaml; raises StateError when the namespace has none."""
        config = load_config(self.layout.update_yaml)
        if config is None:
            raise StateError(
                f"{self.layout.update_yaml} does not exist: agent {self.layout.namespace!r} is "
                "not managed (adopt it with 'shepherd agents add')"
            )
        return config

    def begin(self, operation: str, target: Revision, config: UpdateConfig) -> JournalEntry:
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
            started=self.ctx.clock.now().isoformat(timespec="seconds"),
        )
        return self.step(entry, Step.BEGIN)

    def step(self, entry: JournalEntry, step: Step) -> JournalEntry:
        """Journal that ``step`` was reached (and tell the test hook)."""
        entry = entry.at(step)
        self.journal.write(entry)
        if self.ctx.step_hook is not None:
            self.ctx.step_hook(step)
        return entry

    def make_room(self, config: UpdateConfig, target: Revision) -> None:
        """Before installing ``target``: remove every version dir but the active, the
        backup, the target and the linked one, so that at most three stay. The backup is
        kept until the target has passed its health check."""
        status = config.status
        self.cleanup(keep=(status.active, status.backup, target))

    def install(self, target: Revision) -> None:
        """Download (unless the installed checksum marker already matches) and unpack."""
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
            limits=self.ctx.download_limits,
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

    def switch_to(self, revision: Revision) -> None:
        """Point the links at ``revision``'s binaries and install its unit."""
        version_dir = self.layout.version_dir(revision)
        switch_links(
            version_dir / "bin", self.layout.link_dir, versions_dir=self.layout.versions_dir
        )
        copy_unit(unit_source(version_dir), self.layout, revision=revision)
        self.ctx.service.daemon_reload()

    def reload_and_check(self, entry: JournalEntry | None) -> HealthResult | None:
        """Reload; health-check unless the agent was not running (then None). With a
        journal ``entry``, the RELOADED step is journaled once a reload was sent (never for a
        stopped agent: recovery restarts an agent only if it was running)."""
        before = read_pid(self.layout.pid_file)
        try:
            outcome = self.ctx.service.reload(self.layout.unit_name)
        except ServiceError as e:
            _log.error("reloading %s failed: %s", self.layout.unit_name, e)
            return HealthResult(False, "reload-failed", str(e), None, 0.0)
        if outcome.warning:
            _log.warning("%s", outcome.warning)
        if outcome.result is Reload.NOT_RUNNING:
            return None
        if entry is not None:
            self.step(entry, Step.RELOADED)
        return self.ctx.health.check(
            self.layout.pid_file,
            self.layout.debug_socket,
            before,
            service=self.ctx.service,
            unit=self.layout.unit_name,
        )

    def reload_and_verify(self, entry: JournalEntry) -> Verification:
        """Reload and health-check; on failure put links and unit back as journaled and
        bring the previous version up again (the caller records why)."""
        health = self.reload_and_check(entry)
        if health is None or health.ok:
            return Verification(health)
        self.restore(entry)
        restored = self.restart_restored()
        self.journal.clear()
        return Verification(health, restored)

    def restore(self, entry: JournalEntry) -> None:
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

    def restart_restored(self) -> HealthResult:
        """Restart the restored version and health-check it; a failure is logged, not raised."""
        result = restart_and_check(
            self.ctx.service,
            self.layout.unit_name,
            self.ctx.health,
            self.layout.pid_file,
            self.layout.debug_socket,
        )
        if not result.ok:
            _log.error(
                "the restored version of %s is not healthy: %s",
                self.layout.unit_name,
                result.message,
            )
        return result

    def commit_update(self, config: UpdateConfig, target: Revision) -> None:
        """Record ``target`` as active (the old active becomes the backup)."""
        fresh = self.config()
        now = self.ctx.clock.now()
        active = fresh.status.active
        skip = fresh.status.skip if fresh.status.skip != target else None
        save_config(
            self.layout.update_yaml,
            fresh.with_status(
                active=target,
                backup=active if active != target else fresh.status.backup,
                skip=skip,
                last_update=LastUpdate(True, now, target),
                id_file=fresh.status.id_file or self.layout.recorded(self.layout.id_file),
            ),
        )
        state = load_agent_record(self.layout.state_dir).forget_failure(str(target.version))
        save_agent_record(self.layout.state_dir, state.activated(target, now))

    def commit_rollback(
        self, active: Revision | None, backup: Revision, uid: int | None, reason: str
    ) -> None:
        """Record ``backup`` as active again and remember ``active`` as bad."""
        config = self.config()
        save_config(
            self.layout.update_yaml,
            config.with_status(active=backup, backup=active),
        )
        state = load_agent_record(self.layout.state_dir).activated(backup)
        if active is not None:
            state = state.mark_bad(active, reason, uid)
        save_agent_record(self.layout.state_dir, state)

    def cleanup(self, keep: tuple[Revision | None, ...] | None = None) -> None:
        """Remove every installed revision but those in ``keep`` (by default the active and
        the backup, read now) and the linked one."""
        if keep is None:
            status = self.config().status
            keep = (status.active, status.backup)
        kept = {r.dir_name for r in keep if r is not None}
        linked = {name for name in [linked_revision(self.layout)] if name}
        for revision in list_revisions(self.layout.versions_dir):
            if revision.dir_name in kept or revision.dir_name in linked:
                continue
            try:
                remove_revision(self.layout.versions_dir, revision, linked=linked)
            except ArtifactError as e:
                _log.warning("could not clean up %s: %s", revision, e)

    def record(
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
        """Append one event to the agent's history."""
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
