"""What the daemon knows of one agent between passes (nothing of it is on disk)."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from engine.api.schema import OutcomeAnswer
from engine.daemon.events import EventBus
from engine.install.download import Progress
from engine.policy.decision import Action, Decision, Reason
from engine.policy.offer import Offer, offer_of
from engine.update.outcome import Outcome
from engine.update.update_pass import PassResult

__all__ = ["AgentRuntime", "jitter_sleeper", "progress_reporter"]

T = TypeVar("T")
_WORKER_NICENESS = 10
_log = logging.getLogger(__name__)


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
    offer: Offer | None = None  # what the cluster offers, as the last pass saw it
    last_result: OutcomeAnswer | None = None
    progress: dict[str, Any] | None = None
    last_recorded_reason: str | None = None
    # The agent's own thread for its operations (they run one at a time, under ``lock``):
    # a wave of updates gets a thread per agent, and a long health check holds no thread
    # that another agent or the API needs. Started on first use.
    worker: ThreadPoolExecutor | None = None

    def remember_pass(self, decision: Decision, outcome: Outcome | None, at: datetime) -> None:
        """Keep what a pass (not a dry run) decided, and what the cluster offers."""
        self.decision = decision
        failed = outcome.message if outcome and not (outcome.ok or outcome.cancelled) else None
        self.offer = offer_of(decision, decided_at=at, previous=self.offer, failed=failed)

    async def run_in_worker(self, work: Callable[[], T]) -> T:
        """Run ``work`` in the agent's own thread (with the caller's context variables)."""
        if self.worker is None:
            self.worker = ThreadPoolExecutor(
                1, thread_name_prefix=f"agent-{self.namespace}", initializer=_lower_priority
            )
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self.worker, context.run, work)

    def with_next_check(self, result: PassResult) -> PassResult:
        """A dry run's answer with the one next check: the poll loop's (when scheduled)."""
        if self.next_check is None:
            return result
        return replace(result, decision=replace(result.decision, next_check=self.next_check))

    def forget_held_back(self, version: str) -> None:
        """After clear-bad, the last decision no longer says that ``version`` is marked
        broken or bad: it says it was cleared, until the next check decides again."""
        decision = self.decision
        held = (Reason.TARGET_SKIPPED, Reason.TARGET_MARKED_BAD)
        if decision is None or decision.reason not in held or decision.target is None:
            return
        if str(decision.target.version) != version:
            return
        self.decision = Decision(
            Action.NOTHING,
            Reason.CLEARED,
            f"{version} was cleared by an admin: Shepherd may install it again, and the "
            "next check decides.",
            target=decision.target,
        )

    def stop_worker(self) -> None:
        """Let the agent's thread end once its work is done (does not wait)."""
        if self.worker is not None:
            self.worker.shutdown(wait=False)
            self.worker = None


def _lower_priority() -> None:
    """Nice the agent's thread: an update's work (hashing, extraction, the service manager's
    commands it spawns) yields the CPU to the API's answers. On Linux the nice value is
    the calling thread's alone (and its children's; the agents themselves are started by
    the service manager, not by us)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, _WORKER_NICENESS)
    except OSError as e:
        _log.debug("cannot lower the priority of %s: %s", threading.current_thread().name, e)


def progress_reporter(bus: EventBus, agent: AgentRuntime) -> Callable[[Progress], None]:
    """Download progress for the agent's status and the event stream, at most 5 a second
    (and always the last)."""
    last = [0.0]

    def report(progress: Progress) -> None:
        now = time.monotonic()
        done = progress.bytes_total is not None and progress.bytes_done >= progress.bytes_total
        if now - last[0] < 0.2 and not done:
            return
        last[0] = now
        data = asdict(progress)
        agent.progress = data
        bus.publish("progress", agent=agent.namespace, **data)

    return report


def jitter_sleeper(agent: AgentRuntime, stopping: threading.Event) -> Callable[[float], bool]:
    """The jitter wait: cut short by a stop (then False: do not update) or by a change
    of the agent's spec (then True: the transaction re-checks update.yaml under the
    lock and cancels if it must).

    Made at the start of a pass, before it reads the spec: a change from then on, also one
    made while the pass still decides, ends the wait (clearing the interrupt only when the
    wait begins would lose it, and the pass would sit out the whole jitter)."""
    agent.interrupt.clear()

    def sleep(seconds: float) -> bool:
        _log.info("agent %s: waiting up to %.0f s (the cluster's jitter)", agent.namespace, seconds)
        agent.interrupt.wait(seconds)
        return not stopping.is_set()

    return sleep
