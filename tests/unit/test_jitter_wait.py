"""The jitter wait of a pass ends when the agent's spec changes, also when the change came
while the pass was still deciding (before the wait began)."""

from __future__ import annotations

import threading
import time

from engine.daemon.runtime import AgentRuntime, jitter_sleeper


def test_a_change_made_while_the_pass_decides_ends_the_wait_at_once() -> None:
    agent, stopping = AgentRuntime("default"), threading.Event()
    sleep = jitter_sleeper(agent, stopping)  # the pass begins
    agent.interrupt.set()  # a pin arrives before the pass reaches its jitter wait
    started = time.monotonic()
    assert sleep(600) is True  # go on: the transaction re-reads the spec and cancels
    assert time.monotonic() - started < 60


def test_a_change_from_an_earlier_pass_does_not_cut_the_next_wait_short() -> None:
    agent, stopping = AgentRuntime("default"), threading.Event()
    agent.interrupt.set()  # left over from before this pass
    sleep = jitter_sleeper(agent, stopping)
    started = time.monotonic()
    assert sleep(0.2) is True
    assert time.monotonic() - started >= 0.2


def test_a_stop_during_the_wait_says_not_to_update() -> None:
    agent, stopping = AgentRuntime("default"), threading.Event()
    sleep = jitter_sleeper(agent, stopping)
    stopping.set()
    agent.interrupt.set()
    assert sleep(600) is False
