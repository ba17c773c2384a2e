"""Whether a one-click rollback may switch to the backup revision, and if not, why. Pure.

A rollback switches onto the backup and remembers the active revision as bad, so it must
never switch onto a version that is known not to work here: the backup missing or no longer
installed, remembered as bad, marked broken (``skip``), or the target of the update that
just failed (after a rollback and ``clear-bad`` the backup can be the very version offered
next; when that update fails, the backup is still that version). Status, the tray and the
transaction all ask this one function.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from engine.versions import Revision

__all__ = ["RollbackRefusal", "rollback_refusal"]


@dataclass(frozen=True)
class RollbackRefusal:
    code: str  # stable: no-backup, backup-not-installed, backup-marked-bad, backup-failed-here
    message: str


def rollback_refusal(
    namespace: str,
    *,
    active: Revision | None,
    backup: Revision | None,
    backup_installed: bool,
    skip: Revision | None,
    failed_target: Revision | None,
    bad: Collection[Revision],
) -> RollbackRefusal | None:
    """None when a rollback to ``backup`` may go ahead; else the code and the sentence.

    ``failed_target`` is the target of the last update when it failed (None otherwise).
    """
    staying = f"{active} stays active" if active is not None else "nothing changes"
    if backup is None:
        return RollbackRefusal(
            "no-backup", f"agent {namespace!r} has no backup version to roll back to"
        )
    if backup == active:
        return RollbackRefusal(
            "no-backup",
            f"the backup of agent {namespace!r} is {backup}, the active version itself: "
            "there is nothing to roll back to",
        )
    failed = _failed_here(backup, skip, failed_target)
    if failed is not None:
        return RollbackRefusal(
            "backup-failed-here",
            f"the backup {backup} of agent {namespace!r} is the version that {failed}; "
            f"a rollback would switch onto it, so it is refused and {staying}",
        )
    if backup in bad:
        return RollbackRefusal(
            "backup-marked-bad",
            f"the backup {backup} of agent {namespace!r} is remembered as bad; clear it "
            f"first ('shepherd clear-bad {namespace} {backup.version}')",
        )
    if not backup_installed:
        return RollbackRefusal(
            "backup-not-installed",
            f"the backup {backup} of agent {namespace!r} is no longer installed "
            "(teleport-update removes it before it installs an update): there is nothing "
            "to roll back to",
        )
    return None


def _failed_here(
    backup: Revision, skip: Revision | None, failed_target: Revision | None
) -> str | None:
    if failed_target is not None and failed_target.version == backup.version:
        return "just failed its update here"
    if skip is not None and skip.version == backup.version:
        return "failed its health check here and is marked broken (skip)"
    return None
