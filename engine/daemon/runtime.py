"""What the daemon knows of one agent between passes (nothing of it is on disk)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.api.schema import OutcomeAnswer
from engine.policy.decision import Decision

__all__ = ["AgentRuntime"]


@dataclass
class AgentRuntime:
    namespace: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one operation at a time
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # poll now
    interrupt: threading.Event = field(default_factory=threading.Event)  # end a jitter wait
    task: asyncio.Task[None] | None = None
    busy: str | None = None
    last_check: datetime | None = None
    next_check: datetime | None = None
    decision: Decision | None = None
    last_result: OutcomeAnswer | None = None
    progress: dict[str, Any] | None = None
    last_recorded_reason: str | None = None
