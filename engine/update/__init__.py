"""Updating an agent: the host wiring, one update pass, the journaled transaction and the canary
gate.
"""

from __future__ import annotations

from engine.update.canary import CanaryGate, CanaryStatus, canary_status
from engine.update.host import HostConfig, ManagedAgents, with_settings
from engine.update.outcome import Outcome, UpdateContext
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
    "local_settings",
    "with_settings",
]
