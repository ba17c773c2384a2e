"""Updating an agent: the host wiring, whose setting wins, one update pass, the journaled
transaction, the canary gate, the operations on an agent's records, and the answers
(``report``) the API and the CLI show.
"""

from __future__ import annotations

from engine.update.canary import (
    DEFAULT_HEALTH_WINDOW,
    CanaryGate,
    CanaryStatus,
    HealthWindow,
    canary_status,
)
from engine.update.effective import EffectiveSettings, Overrides, Sourced, effective_settings
from engine.update.host import HostConfig, with_settings
from engine.update.managed import V1_TIMER, ManagedAgents
from engine.update.operations import SPEC_ACTIONS, AdoptReport, AgentOperations
from engine.update.outcome import CANCELLED, Outcome, UpdateContext
from engine.update.package_agent import (
    PACKAGE_AGENT,
    PackageAgentRunner,
    agent_files,
    find_package_agent,
    package_runner,
)
from engine.update.package_pass import PackageContext, PackageOutcome, PackagePass
from engine.update.recovery import recover_locked
from engine.update.report import (
    decision_json,
    explained_decision_json,
    outcome_json,
    pass_json,
    revision_json,
)
from engine.update.steps import AgentSteps
from engine.update.transaction import Transaction
from engine.update.update_pass import PassResult, UpdatePass

__all__ = [
    "CANCELLED",
    "DEFAULT_HEALTH_WINDOW",
    "PACKAGE_AGENT",
    "SPEC_ACTIONS",
    "V1_TIMER",
    "AdoptReport",
    "AgentOperations",
    "AgentSteps",
    "CanaryGate",
    "CanaryStatus",
    "EffectiveSettings",
    "HealthWindow",
    "HostConfig",
    "ManagedAgents",
    "Outcome",
    "Overrides",
    "PackageAgentRunner",
    "PackageContext",
    "PackageOutcome",
    "PackagePass",
    "PassResult",
    "Sourced",
    "Transaction",
    "UpdateContext",
    "UpdatePass",
    "agent_files",
    "canary_status",
    "decision_json",
    "effective_settings",
    "explained_decision_json",
    "find_package_agent",
    "outcome_json",
    "package_runner",
    "pass_json",
    "recover_locked",
    "revision_json",
    "with_settings",
]
