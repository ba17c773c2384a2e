"""Updating an agent: the host wiring, one update pass, the journaled transaction and the canary
gate.
"""

from __future__ import annotations

from engine.update.canary import CanaryGate, CanaryStatus, HealthWindow, canary_status
from engine.update.host import HostConfig, ManagedAgents, with_settings
from engine.update.transaction import Outcome, Transaction, UpdateContext
from engine.update.update_pass import PassResult, UpdatePass, local_settings

__all__ = [
    "CanaryGate",
    "CanaryStatus",
    "HealthWindow",
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
