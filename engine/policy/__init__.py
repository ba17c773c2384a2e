"""The update decision: pure functions of settings, state, cluster answer, health and clock."""

from __future__ import annotations

from engine.policy.answers import (
    AutoUpdate,
    ChannelAnswer,
    ClusterAnswer,
    Edition,
    FindAnswer,
    SourceFailure,
)
from engine.policy.decide import decide, preflight
from engine.policy.decision import Action, Decision, Reason
from engine.policy.inputs import (
    DEFAULT_POLL_INTERVAL,
    AgentHealth,
    AgentState,
    ClusterView,
    DecisionInputs,
    LocalSettings,
)
from engine.policy.offer import Hold, Offer, offer_of
from engine.policy.schedule import (
    WEEKDAY_NAMES,
    ClusterWindow,
    ExportedSchedule,
    Interval,
    LocalWindow,
    blackout_at,
    inside_any,
    next_start,
)

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "WEEKDAY_NAMES",
    "Action",
    "AgentHealth",
    "AgentState",
    "AutoUpdate",
    "ChannelAnswer",
    "ClusterAnswer",
    "ClusterView",
    "ClusterWindow",
    "Decision",
    "DecisionInputs",
    "Edition",
    "ExportedSchedule",
    "FindAnswer",
    "Hold",
    "Interval",
    "LocalSettings",
    "LocalWindow",
    "Offer",
    "Reason",
    "SourceFailure",
    "blackout_at",
    "decide",
    "inside_any",
    "next_start",
    "offer_of",
    "preflight",
]
