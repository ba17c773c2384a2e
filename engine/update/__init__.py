"""Updating an agent: the host wiring, whose setting wins, one update pass, the journaled
transaction, the canary gate, and the operations on an agent's records.
"""

from __future__ import annotations

from engine.update.canary import CanaryGate, CanaryStatus, canary_status
from engine.update.effective import EffectiveSettings, Overrides, Sourced, effective_settings
from engine.update.host import HostConfig, ManagedAgents, with_settings
from engine.update.operations import SPEC_ACTIONS, AdoptReport, AgentOperations
from engine.update.transaction import Outcome, Transaction, UpdateContext
from engine.update.update_pass import PassResult, UpdatePass

__all__ = [
    "SPEC_ACTIONS",
    "AdoptReport",
    "AgentOperations",
    "CanaryGate",
    "CanaryStatus",
    "EffectiveSettings",
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
    "effective_settings",
    "with_settings",
]
