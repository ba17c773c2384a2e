"""Repairing what a run killed half-way left behind, from the step journal (PROTOCOL §3):
a run whose health check had passed is finished; any other is put back as journaled, and
the restored version reloaded and health-checked. Half-written archives and version
directories without their ``sha256`` marker are removed.
"""

from __future__ import annotations

import logging

from engine.errors import ShepherdError
from engine.fsutil import safe_rmtree
from engine.install.links import linked_revision
from engine.service.health import HealthResult
from engine.store.journal import Step
from engine.store.update_yaml import load_config
from engine.update.outcome import Outcome
from engine.update.steps import AgentSteps
from engine.versions import Revision

__all__ = ["recover_locked"]

_log = logging.getLogger(__name__)


def recover_locked(steps: AgentSteps) -> Outcome | None:
    """Repair a run that died half-way; the caller holds the lock. A run whose health check
    had passed (VERIFIED) is finished, any other put back as journaled. None when the
    journal is empty."""
    _remove_leftovers(steps)
    entry = steps.journal.read()
    if entry is None:
        return None
    target = Revision.parse_dir_name(entry.target)
    previous = Revision.parse_dir_name(entry.previous_active) if entry.previous_active else None
    if entry.step is Step.VERIFIED:
        if entry.operation == "update":
            steps.commit_update(steps.config(), target)
            steps.cleanup()
        else:
            steps.commit_rollback(previous, target, None, "rollback finished after a crash")
        steps.journal.clear()
        message = f"finished an interrupted {entry.operation} to {target}"
        steps.record(
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
        steps.restore(entry)
        health = _bring_back_restored(steps, entry.step)
    steps.journal.clear()
    steps.cleanup()  # the target never became active: only active and backup stay
    message = (
        f"an interrupted {entry.operation} to {target} (stopped after step "
        f"'{entry.step}') was rolled back; {previous or 'the previous state'} stays"
    )
    if health is not None and not health.ok:
        message += f", but it failed its health check after the reload ({health.message})"
    steps.record(entry.operation, "failed", "recovered-back", message, previous, target, None, 0.0)
    return Outcome(False, "recovered-back", message, target, previous, health)


def _bring_back_restored(steps: AgentSteps, step: Step) -> HealthResult | None:
    """Bring the restored version up and wait until it is healthy, so that the caller (the
    next update, right after) never reloads an agent that is still re-executing. Before the
    reload was sent the old process still runs the old binary: reload it as usual. After,
    the interrupted target may be crashing in a loop: restart."""
    if step is Step.RELOADED:
        return steps.restart_restored()
    return steps.reload_and_check(None)


def _remove_leftovers(steps: AgentSteps) -> None:
    """Delete what a kill -9 left half-written or half-deleted: verified archives that
    were being unpacked (partial downloads stay, to resume), temporary install dirs
    (``.<rev>.partial-<pid>``, see ``install_revision``) and version dirs without their
    ``sha256`` marker (written last, removed first). Never the linked or active one."""
    downloads = steps.layout.state_dir / "downloads"
    if downloads.is_dir():
        for archive in downloads.glob("*.tar.gz"):
            archive.unlink(missing_ok=True)
    versions = steps.layout.versions_dir
    if not versions.is_dir():
        return
    config = load_config(steps.layout.update_yaml)
    active = config.status.active if config else None
    keep = {linked_revision(steps.layout), active.dir_name if active else None}
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
