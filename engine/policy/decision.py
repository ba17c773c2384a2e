"""What the update decision answers: an action, a stable reason code and the sentence that
says why (and when next), with the target, the jitter delay and the v1 marker change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from engine.versions import Revision

__all__ = ["Action", "Decision", "Reason"]


class Action(StrEnum):
    NOTHING = "nothing"
    WAIT = "wait"
    UPDATE = "update"
    ERROR = "error"


class Reason(StrEnum):
    """Stable reason codes: clients and history key on these, never on the sentence."""

    NOT_CONFIGURED = "not-configured"
    FOREIGN_UPDATER = "foreign-updater"
    DISABLED = "disabled"
    NO_LINK_DIR = "no-link-dir"
    INSECURE_BASE_URL = "insecure-base-url"
    CLUSTER_UNREACHABLE = "cluster-unreachable"
    PINNED = "pinned"
    OUTSIDE_CLUSTER_WINDOW = "outside-cluster-window"
    NO_TARGET = "no-target"
    EDITION_UNAVAILABLE = "edition-unavailable"
    CHANNEL_NO_VERSION = "channel-no-version"
    UP_TO_DATE = "up-to-date"
    TARGET_SKIPPED = "target-skipped"
    TARGET_MARKED_BAD = "target-marked-bad"
    INCOMPATIBLE_TARGET = "incompatible-target"
    IN_BLACKOUT = "in-blackout"
    OUTSIDE_LOCAL_WINDOW = "outside-local-window"
    OUTSIDE_MAINTENANCE_WINDOW = "outside-maintenance-window"
    UNHEALTHY_FIRST_STRIKE = "agent-unhealthy-first-strike"
    UPDATE_FORCED = "update-forced"
    UPDATE_IN_WINDOW = "update-in-window"
    UPDATE_CRITICAL = "update-critical"
    UPDATE_IN_MAINTENANCE_WINDOW = "update-in-maintenance-window"
    UPDATE_AGENT_UNHEALTHY = "update-agent-unhealthy"
    CANARY_PENDING = "canary-pending"
    CANARY_SOAKING = "canary-soaking"
    CANARY_FAILED = "canary-failed"
    CLEARED = "cleared"  # an admin cleared the version the last decision held back
    UNHEALTHY_AGENT = "agent-unhealthy"  # down or not ready for several checks in a row
    RECOVER_UNHEALTHY = "recover-unhealthy"  # ... and recovery is on: act now


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: Reason
    message: str  # answers "why", and "when next" where there is a next
    target: Revision | None = None
    delay: timedelta = timedelta(0)  # wait this long before updating (jitter)
    next_check: datetime | None = None  # when the situation may change
    mark_unhealthy: bool | None = None  # v1 two-strike marker: set, clear, or leave
    retry_at: datetime | None = None  # a version that failed here is tried again then
    retrying: bool = False  # the target failed here before and its cool-down is over

    @property
    def updates(self) -> bool:
        return self.action is Action.UPDATE
