"""Updating an agent: the host wiring, whose setting wins, one update pass, the journaled
transaction, the canary gate, the operations on an agent's records, and the answers
(``report``) the API and the CLI show.
"""

from __future__ import annotations

from engine.update.canary import CanaryGate, CanaryStatus, HealthWindow, canary_status
from engine.update.effective import EffectiveSettings, Overrides, Sourced, effective_settings
from engine.update.host import HostConfig, ManagedAgents, with_settings
from engine.update.operations import SPEC_ACTIONS, AdoptReport, AgentOperations
from engine.update.outcome import Outcome, UpdateContext
from engine.update.report import (
    decision_json,
    explained_decision_json,
    outcome_json,
    pass_json,
    revision_json,
)
from engine.update.transaction import Transaction
from engine.update.update_pass import PassResult, UpdatePass

__all__ = [
    "SPEC_ACTIONS",
    "AdoptReport",
    "AgentOperations",
    "CanaryGate",
    "CanaryStatus",
    "EffectiveSettings",
    "HealthWindow",
    "HostConfig",
    "ManagedAgents",
    "Outcome",
    "Overrides",
    "PassResult",
    "Sourced",
    "Transaction",
    "UpdateContext",
    "UpdatePass",
    "canary_status",
    "decision_json",
    "effective_settings",
    "explained_decision_json",
    "outcome_json",
    "pass_json",
    "revision_json",
    "with_settings",
]
