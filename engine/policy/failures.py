"""Why a version failed on this host, and when it is tried again. Pure.

A version whose update failed (``skip`` in update.yaml) is not skipped for ever, as
teleport-update does (gravitational/teleport#56512): after a cool-down
(``policy.retry_failed_after``) it is tried again, at most ``policy.retry_failed_max`` times
in all, and each retry only when an update may start anyway (inside the cluster's window
and the host's own windows). A version an admin rolled back is "remembered as bad" instead,
and stays so until cleared: that is not this module's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "DEFAULT_RETRY_AFTER",
    "DEFAULT_RETRY_MAX",
    "FailedVersion",
    "FailureKind",
    "RetryRule",
    "failure_kind",
]

DEFAULT_RETRY_AFTER = timedelta(hours=24)
DEFAULT_RETRY_MAX = 3


class FailureKind(StrEnum):
    """Stable codes for why an update failed here (history ``extra.failure``, status)."""

    CRASHED_AT_START = "crashed-at-start"
    NEVER_READY = "never-ready"
    RESTART_LOOP = "restart-loop"
    IGNORED_RELOAD = "ignored-reload"
    RELOAD_ERROR = "reload-error"
    INSTALL_ERROR = "install-error"

    @property
    def words(self) -> str:
        return _WORDS[self]


_WORDS = {
    FailureKind.CRASHED_AT_START: "crashed at start",
    FailureKind.NEVER_READY: "never became ready",
    FailureKind.RESTART_LOOP: "kept restarting",
    FailureKind.IGNORED_RELOAD: "the running agent ignored the reload",
    FailureKind.RELOAD_ERROR: "the service manager could not reload it",
    FailureKind.INSTALL_ERROR: "could not be installed",
}

# Health-check and transaction codes (engine.service.health, engine.update.transaction).
_BY_CODE = {
    "agent-not-running": FailureKind.CRASHED_AT_START,
    "agent-crashing": FailureKind.RESTART_LOOP,
    "pid-unstable": FailureKind.RESTART_LOOP,
    "not-ready": FailureKind.NEVER_READY,
    "pid-unchanged": FailureKind.IGNORED_RELOAD,
    "reload-failed": FailureKind.RELOAD_ERROR,
    "install-failed": FailureKind.INSTALL_ERROR,
    "switch-failed": FailureKind.INSTALL_ERROR,
}
_DIED = {"agent-not-running", "agent-crashing", "pid-unstable"}


def failure_kind(code: str, *, came_up: bool = False) -> FailureKind:
    """The kind of failure a transaction's reason ``code`` stands for. ``came_up``: a new
    agent process was seen alive before it failed (else a dead or crash-looping agent
    crashed at start). A health code added later still means the new version did not
    come up: "never became ready"."""
    if code in _DIED:
        return FailureKind.RESTART_LOOP if came_up else FailureKind.CRASHED_AT_START
    return _BY_CODE.get(code, FailureKind.NEVER_READY)


@dataclass(frozen=True)
class FailedVersion:
    """One version that failed its update here: why, when it last failed, how often."""

    version: str
    kind: FailureKind
    message: str
    time: datetime
    tries: int = 1


@dataclass(frozen=True)
class RetryRule:
    """``policy.retry_failed_after`` (zero: never retry) and ``policy.retry_failed_max``."""

    after: timedelta = DEFAULT_RETRY_AFTER
    max_tries: int = DEFAULT_RETRY_MAX

    def retry_at(self, failed: FailedVersion) -> datetime | None:
        """When ``failed`` may be tried again; None when it never will be by itself."""
        if self.after <= timedelta(0) or failed.tries >= self.max_tries:
            return None
        return failed.time + self.after
