"""What one agent's transactions are given (``UpdateContext``) and what they answer
(``Outcome``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from engine.clock import SYSTEM_CLOCK, Clock
from engine.install.download import DownloadLimits, Progress
from engine.service.base import ServiceManager
from engine.service.foreign import ForeignUpdaters
from engine.service.health import HealthCheck, HealthResult
from engine.store.history import History
from engine.store.journal import Step
from engine.store.layout import Layout
from engine.versions import Revision

__all__ = ["CANCELLED", "Outcome", "UpdateContext"]

CANCELLED = "cancelled"


@dataclass
class UpdateContext:
    """Everything one agent's transactions need, built once and passed down."""

    layout: Layout
    service: ServiceManager
    health: HealthCheck
    client: httpx.Client
    base_url: str | None = None
    arch: str | None = None
    download_headers: Mapping[str, str] = field(default_factory=dict)
    download_limits: DownloadLimits = field(default_factory=DownloadLimits)
    progress: Callable[[Progress], None] | None = None
    step_hook: Callable[[Step], None] | None = None
    lock_timeout: float | None = 30.0
    who: str = "shepherd"
    foreign: ForeignUpdaters = field(default_factory=lambda: ForeignUpdaters(None))
    clock: Clock = SYSTEM_CLOCK

    @property
    def history(self) -> History:
        return History(self.layout.state_dir)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    reason: str  # stable code
    message: str
    target: Revision | None
    previous: Revision | None
    health: HealthResult | None = None
    seconds: float = 0.0

    @property
    def cancelled(self) -> bool:
        """Nothing was tried: update.yaml changed between the decision and the lock."""
        return self.reason == CANCELLED
