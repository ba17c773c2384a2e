"""What the cluster offers an agent and why it is not installed yet: the status answer's
``offer``, derived from the last decision. Pure: the caller passes the active revision,
the moment of the decision and the previous offer (kept when the cluster cannot be asked).

    offer = offer_of(decision, decided_at=now, previous=last_offer)   # after each pass
    offer.for_active("17.2.1")        # as the status shows it: installed by now?
    offer.target       # 17.2.1, also when a closed window or a pin holds it back
    offer.held_by      # "cluster-window", "local-window", "blackout", "canary", ...
    offer.installs_at  # when it is expected to install, where that is known
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from engine.policy.decision import Action, Decision, Reason
from engine.versions import Revision

__all__ = ["Hold", "Offer", "offer_of"]


class Hold(StrEnum):
    """Why an offered version is not installed yet (stable codes, as ``Reason``)."""

    CLUSTER_WINDOW = "cluster-window"  # the cluster's (or the v1 exported) window is closed
    LOCAL_WINDOW = "local-window"
    BLACKOUT = "blackout"
    CANARY = "canary"
    PINNED = "pinned"
    DISABLED = "disabled"
    REMEMBERED_BAD = "remembered-bad"
    FAILED_HERE = "failed-here"
    INCOMPATIBLE = "incompatible"
    CLUSTER_UNREACHABLE = "cluster-unreachable"
    UNHEALTHY_FIRST_STRIKE = "unhealthy-first-strike"
    UPDATING = "updating"  # the update is under way (jitter, download)
    REFUSED = "refused"  # another error (edition, no target)


_HOLDS = {
    Reason.OUTSIDE_CLUSTER_WINDOW: Hold.CLUSTER_WINDOW,
    Reason.OUTSIDE_MAINTENANCE_WINDOW: Hold.CLUSTER_WINDOW,
    Reason.OUTSIDE_LOCAL_WINDOW: Hold.LOCAL_WINDOW,
    Reason.IN_BLACKOUT: Hold.BLACKOUT,
    Reason.CANARY_PENDING: Hold.CANARY,
    Reason.CANARY_SOAKING: Hold.CANARY,
    Reason.CANARY_FAILED: Hold.CANARY,
    Reason.PINNED: Hold.PINNED,
    Reason.DISABLED: Hold.DISABLED,
    Reason.TARGET_MARKED_BAD: Hold.REMEMBERED_BAD,
    Reason.TARGET_SKIPPED: Hold.FAILED_HERE,
    Reason.INCOMPATIBLE_TARGET: Hold.INCOMPATIBLE,
    Reason.CLUSTER_UNREACHABLE: Hold.CLUSTER_UNREACHABLE,
    Reason.UNHEALTHY_FIRST_STRIKE: Hold.UNHEALTHY_FIRST_STRIKE,
}

# Holds that end at a known moment: the decision's ``next_check`` is that moment.
_TIMED = frozenset({Hold.LOCAL_WINDOW, Hold.BLACKOUT, Hold.CANARY})


@dataclass(frozen=True)
class Offer:
    target: Revision | None  # what the cluster offers; None: nothing known
    installed: bool  # the target is the active revision
    held_by: Hold | None  # why it is not installed yet; None when installed or unknown
    why: str  # the decision's sentence
    installs_at: datetime | None  # when it is expected to install, where known
    offered_at: datetime | None  # when the cluster said so
    cluster_problem: str | None  # why the cluster could not be asked (last time)

    def for_active(self, active: str | None) -> Offer:
        """This offer seen from the agent's active revision now, as text (an update since
        the decision installed it; a rollback undid it)."""
        installed = self.target is not None and str(self.target) == active
        if installed == self.installed:
            return self
        if installed:
            held_by = Hold.CLUSTER_UNREACHABLE if self.cluster_problem else None
            return replace(self, installed=True, held_by=held_by, installs_at=None)
        return replace(self, installed=False)


def offer_of(
    decision: Decision,
    *,
    decided_at: datetime,
    previous: Offer | None = None,
    failed: str | None = None,
) -> Offer:
    """The offer a decision shows. A failed cluster request keeps the previous offer's
    target (and says when it was offered), so an outage does not hide a pending version.
    ``failed``: the decision's update was tried and failed here, and this says how."""
    if decision.reason is Reason.CLUSTER_UNREACHABLE:
        return Offer(
            target=previous.target if previous is not None else None,
            installed=previous.installed if previous is not None else False,
            held_by=Hold.CLUSTER_UNREACHABLE,
            why=decision.message,
            installs_at=None,
            offered_at=previous.offered_at if previous is not None else None,
            cluster_problem=decision.message,
        )
    target = decision.target
    if target is None:
        if decision.reason is Reason.DISABLED and previous is not None:
            return replace(previous, held_by=Hold.DISABLED, why=decision.message)
        held = _HOLDS.get(decision.reason)
        return Offer(None, False, held, decision.message, None, None, None)
    if failed is not None:
        return Offer(target, False, Hold.FAILED_HERE, failed, None, decided_at, None)
    installed = decision.reason is Reason.UP_TO_DATE
    held_by = None if installed else _hold(decision)
    installs_at = None
    if held_by is Hold.UPDATING:
        installs_at = decided_at + decision.delay
    elif held_by is not None and (held_by in _TIMED or decision.action is Action.WAIT):
        installs_at = decision.next_check
    return Offer(target, installed, held_by, decision.message, installs_at, decided_at, None)


def _hold(decision: Decision) -> Hold:
    if decision.action is Action.UPDATE:
        return Hold.UPDATING
    held = _HOLDS.get(decision.reason)
    if held is not None:
        return held
    return Hold.REFUSED
