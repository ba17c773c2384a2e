"""The canary gate's health look: a canary counts as unhealthy only when no probe within its
``HealthWindow`` finds it running (and ready), so one missed probe holds no one. A fake clock
stands in for the wait (its sleep advances time); the probes read real files."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.clock import ManualClock
from engine.policy.decision import Reason
from engine.store.layout import Layout
from engine.store.update_yaml import UpdateConfig, UpdateSpec, UpdateStatus, save_config
from engine.update.canary import CanaryGate, HealthWindow, canary_status
from engine.versions import Revision

TARGET = Revision.of("17.2.1")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WINDOW = HealthWindow(seconds=10, probe_every=0.5)


def canary_on_target(root: Path) -> Layout:
    """A canary running the target (no debug socket: an older agent, the PID is all we ask)."""
    layout = Layout(root, "staging")
    save_config(
        layout.update_yaml,
        UpdateConfig(
            spec=UpdateSpec(proxy="example.com:443", enabled=True),
            status=UpdateStatus(active=TARGET),
        ),
    )
    return layout


def write_live_pid(layout: Layout) -> None:
    layout.pid_file.parent.mkdir(parents=True, exist_ok=True)
    layout.pid_file.write_text(f"{os.getpid()}\n")


def gate(layout: Layout, clock: ManualClock) -> CanaryGate:
    return CanaryGate(
        ["staging"],
        timedelta(hours=1),
        lambda _ns: canary_status(layout, window=WINDOW, clock=clock),
    )


def test_a_healthy_canary_is_probed_once(tmp_path: Path) -> None:
    layout = canary_on_target(tmp_path)
    write_live_pid(layout)
    clock = ManualClock()
    assert gate(layout, clock).hold("prod", TARGET, NOW) is None
    assert clock.sleeps == 0


def test_one_missed_probe_does_not_hold_the_others(tmp_path: Path) -> None:
    layout = canary_on_target(tmp_path)  # no PID file yet: caught between two processes
    clock = ManualClock(on_sleep=lambda n: write_live_pid(layout) if n == 1 else None)
    assert gate(layout, clock).hold("prod", TARGET, NOW) is None
    assert clock.sleeps == 1


def test_a_canary_down_for_the_whole_window_holds_the_others(tmp_path: Path) -> None:
    layout = canary_on_target(tmp_path)
    clock = ManualClock()
    held = gate(layout, clock).hold("prod", TARGET, NOW)
    assert held is not None and held.reason is Reason.CANARY_PENDING
    assert "not running and ready at any probe for 10 s" in held.message
    assert clock.monotonic() >= WINDOW.seconds
    assert clock.sleeps == 20


def test_health_is_not_probed_while_the_canary_is_still_on_another_version(
    tmp_path: Path,
) -> None:
    layout = canary_on_target(tmp_path)
    clock = ManualClock()
    held = gate(layout, clock).hold("prod", Revision.of("17.3.0"), NOW)
    assert held is not None and held.reason is Reason.CANARY_PENDING
    assert "to update to 17.3.0 first" in held.message
    assert clock.sleeps == 0  # a canary that is not there yet costs no window
