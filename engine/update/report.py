"""Engine objects as the API's answers (``engine.api.schema``): the daemon sends these and
the CLI prints them, so both show one shape."""

from __future__ import annotations

from engine.api.schema import (
    DecisionAnswer,
    ExplainedDecision,
    OfferAnswer,
    OutcomeAnswer,
    PassAnswer,
)
from engine.policy.decision import Decision
from engine.policy.offer import Offer
from engine.update.outcome import Outcome
from engine.update.update_pass import PassResult
from engine.versions import Revision

__all__ = [
    "decision_json",
    "explained_decision_json",
    "offer_json",
    "outcome_json",
    "pass_json",
    "revision_json",
]


def revision_json(revision: Revision | None) -> str | None:
    return str(revision) if revision is not None else None


def decision_json(decision: Decision) -> DecisionAnswer:
    return {
        "action": decision.action.value,
        "reason": decision.reason.value,
        "message": decision.message,
        "target": str(decision.target) if decision.target else None,
        "delay_seconds": round(decision.delay.total_seconds(), 3),
        "next_check": decision.next_check.isoformat() if decision.next_check else None,
        "retry_at": decision.retry_at.isoformat() if decision.retry_at else None,
    }


def offer_json(offer: Offer) -> OfferAnswer:
    return {
        "target": revision_json(offer.target),
        "installed": offer.installed,
        "held_by": offer.held_by.value if offer.held_by else None,
        "why": offer.why,
        "installs_at": offer.installs_at.isoformat() if offer.installs_at else None,
        "offered_at": offer.offered_at.isoformat() if offer.offered_at else None,
        "cluster_problem": offer.cluster_problem,
    }


def explained_decision_json(decision: Decision) -> ExplainedDecision:
    """The decision with the v1 marker change too, as ``shepherd explain --json`` shows it."""
    return {**decision_json(decision), "mark_unhealthy": decision.mark_unhealthy}


def outcome_json(outcome: Outcome) -> OutcomeAnswer:
    return {
        "ok": outcome.ok,
        "reason": outcome.reason,
        "message": outcome.message,
        "target": revision_json(outcome.target),
        "previous": revision_json(outcome.previous),
        "seconds": round(outcome.seconds, 3),
    }


def pass_json(result: PassResult, *, dry_run: bool) -> PassAnswer:
    return {
        "agent": result.namespace,
        "decision": decision_json(result.decision),
        "outcome": outcome_json(result.outcome) if result.outcome else None,
        "repaired": outcome_json(result.repaired) if result.repaired else None,
        "dry_run": dry_run,
    }
