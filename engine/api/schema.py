"""The JSON shapes the local API answers with (shared by the daemon and its clients)."""

from __future__ import annotations

from typing import Any

from engine.policy.decision import Decision
from engine.update.outcome import Outcome
from engine.versions import Revision

__all__ = ["decision_json", "outcome_json", "revision_json"]


def revision_json(revision: Revision | None) -> str | None:
    return str(revision) if revision is not None else None


def decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "action": decision.action.value,
        "reason": decision.reason.value,
        "message": decision.message,
        "target": str(decision.target) if decision.target else None,
        "delay_seconds": round(decision.delay.total_seconds(), 3),
        "next_check": decision.next_check.isoformat() if decision.next_check else None,
    }


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "ok": outcome.ok,
        "reason": outcome.reason,
        "message": outcome.message,
        "target": revision_json(outcome.target),
        "previous": revision_json(outcome.previous),
        "seconds": round(outcome.seconds, 3),
    }
