"""What the update decision is made from: the host's settings, what is stored about the agent,
what the cluster said, the agent's health signals and the clock. Plain values, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine.policy.answers import ChannelAnswer, FindAnswer
from engine.policy.failures import FailedVersion, RetryRule
from engine.policy.schedule import ExportedSchedule, LocalWindow
from engine.versions import Revision

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "AgentHealth",
    "AgentState",
    "ClusterView",
    "DecisionInputs",
    "LocalSettings",
]

DEFAULT_POLL_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class LocalSettings:
    """What the host decides (``update.yaml`` spec plus Shepherd's local settings)."""

    enabled: bool = True
    pinned: bool = False
    link_dir: str = "/usr/local/bin"
    base_url: str | None = None
    group: str | None = None
    local_windows: tuple[LocalWindow, ...] = ()
    blackouts: tuple[LocalWindow, ...] = ()
    critical_bypasses_local_window: bool = True
    poll_interval: timedelta = DEFAULT_POLL_INTERVAL
    retry: RetryRule = field(default_factory=RetryRule)


@dataclass(frozen=True)
class AgentState:
    """What we stored about this agent (``update.yaml`` status plus Shepherd's own state)."""

    active: Revision | None = None
    backup: Revision | None = None
    skip: Revision | None = None
    bad: frozenset[Revision] = frozenset()
    unhealthy_marked: bool = False
    failed: Mapping[str, FailedVersion] = field(default_factory=dict)  # version -> why

    def failure_of(self, revision: Revision) -> FailedVersion | None:
        """Why updates to ``revision``'s version failed here (flags ignored, like skip)."""
        return self.failed.get(str(revision.version))


@dataclass(frozen=True)
class ClusterView:
    """What the cluster said: a v2 find answer, a v1 channel answer (with the find answer
    when the proxy answered without ``auto_update``), or why asking failed."""

    find: FindAnswer | None = None
    channel: ChannelAnswer | None = None
    failure: str | None = None


@dataclass(frozen=True)
class AgentHealth:
    """Health signals the policy uses. v1: the schedule the agent exported
    (None = the file is missing; an empty schedule = the agent lost its cluster)."""

    exported_schedule: ExportedSchedule | None = None


@dataclass(frozen=True)
class DecisionInputs:
    settings: LocalSettings | None
    state: AgentState
    cluster: ClusterView
    now: datetime
    health: AgentHealth = field(default_factory=AgentHealth)
    forced: bool = False
