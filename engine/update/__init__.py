"""Updating an agent: the host wiring, one update pass, the journaled transaction, the canary
gate, and the answers (``report``) the API and the CLI show.
"""

from __future__ import annotations

from engine.update.canary import CanaryGate, CanaryStatus, canary_status
from engine.update.host import HostConfig, ManagedAgents, with_settings
from engine.update.outcome import Outcome, UpdateContext
from engine.update.report import (
    decision_json,
    explained_decision_json,
    outcome_json,
    pass_json,
    revision_json,
)
from engine.update.transaction import Transaction
from engine.update.update_pass import PassResult, UpdatePass, local_settings

__all__ = [
    "CanaryGate",
    "CanaryStatus",
    "HostConfig",
    "ManagedAgents",
    "Outcome",
    "PassResult",
    "Transaction",
    "UpdateContext",
    "UpdatePass",
    "canary_status",
    "decision_json",
    "explained_decision_json",
    "local_settings",
    "outcome_json",
    "pass_json",
    "revision_json",
    "with_settings",
]
