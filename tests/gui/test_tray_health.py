"""An agent's process dies: the daemon's ``health`` event, and the tray showing it from that
event alone (no status read), against a REAL daemon with two supervisord agents. Qt runs
offscreen, so the fallback window is the tray's face."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from gui.viewmodel import IconState, TrayView
from sandbox.emulator import ClusterEmulator
from tests.fixtures.daemon import RunningDaemon, start_daemon
from tests.fixtures.sandboxhost import SandboxHost
from tests.gui.test_tray_daemon import WAIT_MS, Tray, start_tray

pytestmark = pytest.mark.integration


@pytest.fixture
def watched(
    qtbot: QtBot, sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> Iterator[tuple[Tray, list[TrayView], list[dict[str, Any]]]]:
    """The tray on two agents: ``default`` is restarted by supervisord when it dies,
    ``staging`` is not. Also every view the tray showed and every event it received."""
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.add_agent("staging", proxy=cluster.proxy_addr, autorestart="false")
    daemon: RunningDaemon = start_daemon(sandbox_host, cluster)
    tray = start_tray(qtbot, daemon)
    views: list[TrayView] = []
    events: list[dict[str, Any]] = []
    tray.controller.view_changed.connect(views.append)
    tray.worker.event_received.connect(events.append)
    try:
        qtbot.waitUntil(lambda: len(tray.controller.view.agents) == 2, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: _all_up(tray.controller.view), timeout=WAIT_MS)
        yield tray, views, events
    finally:
        tray.worker.stop()
        tray.controller.close()
        daemon.stop(signal.SIGTERM)


def _agent(view: TrayView, name: str) -> Any:
    return next(a for a in view.agents if a.name == name)


def _all_up(view: TrayView) -> bool:
    return all("not running" not in a.why for a in view.agents)


def _shows_down(view: TrayView, name: str) -> bool:
    agent = next((a for a in view.agents if a.name == name), None)
    return agent is not None and agent.state is IconState.ERROR and "not running" in agent.why


def test_a_killed_agent_shows_down_from_the_health_event_then_up_when_it_is_back(
    qtbot: QtBot, watched: tuple[Tray, list[TrayView], list[dict[str, Any]]]
) -> None:
    tray, _views, events = watched
    host = tray.daemon.host
    staging = host.layouts["staging"]
    pid = host.wait_healthy(staging)
    reads = tray.worker.status_reads

    os.kill(pid, signal.SIGKILL)  # supervisord leaves it down (autorestart=false)
    qtbot.waitUntil(lambda: _shows_down(tray.controller.view, "staging"), timeout=WAIT_MS)
    down = [e for e in events if e.get("type") == "health" and e.get("agent") == "staging"]
    assert down and down[-1]["running"] is False and down[-1]["exited"] == pid
    assert tray.worker.status_reads == reads, "shown from the event, not from a status read"
    assert tray.controller.view.state is IconState.ERROR  # the icon
    window = tray.controller.window
    assert window is not None
    assert "not running" in window.card_text("staging")  # the card
    assert "not running" not in window.card_text("default")

    host.supervisor.ctl("start", staging.unit_name)  # back: the daemon sees it come back
    qtbot.waitUntil(lambda: _all_up(tray.controller.view), timeout=WAIT_MS)
    assert "not running" not in window.card_text("staging")
    assert tray.worker.status_reads == reads


def test_an_agent_the_service_manager_restarts_at_once_is_shown_down_then_up(
    qtbot: QtBot, watched: tuple[Tray, list[TrayView], list[dict[str, Any]]]
) -> None:
    tray, views, events = watched
    host = tray.daemon.host
    default = host.layouts["default"]
    pid = host.wait_healthy(default)
    views.clear()

    os.kill(pid, signal.SIGKILL)  # supervisord starts it again straight away
    qtbot.waitUntil(lambda: any(_shows_down(v, "default") for v in views), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: _all_up(tray.controller.view), timeout=WAIT_MS)
    health = [e for e in events if e.get("type") == "health" and e.get("agent") == "default"]
    assert any(e["running"] is False and e.get("exited") == pid for e in health)
    assert health[-1]["running"] is True and health[-1]["pid"] != pid
    assert not any(_shows_down(v, "staging") for v in views)
