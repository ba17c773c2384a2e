"""The Qt-free view model: API status -> icon state, texts and notifications."""

from __future__ import annotations

from typing import Any

import pytest

from gui.viewmodel import (
    IconState,
    daemon_down_view,
    daemon_state_notice,
    notification_for,
    tray_view,
)


def status(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "agent": "default",
        "enabled": True,
        "pinned": False,
        "active": "17.1.0",
        "backup": None,
        "backup_installed": False,
        "bad": {},
        "last_failure": None,
        "health": {"running": True, "pid": 42, "ready": True},
        "busy": None,
        "progress": None,
        "decision": {
            "action": "wait",
            "reason": "outside-cluster-window",
            "message": "17.2.1 is available; the cluster's window opens at 02:00",
            "next_check": "2026-01-01T02:00:00+00:00",
        },
        "last_result": None,
        "problems": [],
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({}, IconState.OK),
        ({"pinned": True}, IconState.OK),
        ({"busy": "updating"}, IconState.UPDATING),
        ({"busy": "updating", "health": {"running": False}}, IconState.UPDATING),
        ({"problems": ["update.yaml is not valid"]}, IconState.ERROR),
        ({"health": {"running": False, "pid": None, "ready": None}}, IconState.ERROR),
        ({"decision": {"action": "error", "message": "cluster unreachable"}}, IconState.ERROR),
        ({"last_result": {"ok": False, "message": "rolled back"}}, IconState.ATTENTION),
        ({"health": {"running": True, "pid": 1, "ready": False}}, IconState.ATTENTION),
        ({"enabled": False}, IconState.ATTENTION),
        ({"bad": {"17.2.1": {"reason": "TLS"}}}, IconState.ATTENTION),
    ],
    ids=[
        "healthy and waiting is ok",
        "pinned is still ok",
        "busy is updating",
        "busy wins over a restarting agent",
        "a problem is an error",
        "a stopped agent is an error",
        "a failed check is an error",
        "a failed update needs attention",
        "running but not ready needs attention",
        "disabled needs attention",
        "a version remembered as bad needs attention",
    ],
)
def test_agent_state(changes: dict[str, Any], state: IconState) -> None:
    assert tray_view([status(**changes)]).state is state


def test_the_worst_agent_sets_the_icon_and_the_tooltip_says_why() -> None:
    view = tray_view(
        [status(), status(agent="db", health={"running": False, "pid": None, "ready": None})]
    )
    assert view.state is IconState.ERROR
    assert "default — 17.1.0 · up to date" in view.tooltip
    assert "the cluster's window opens at 02:00" in view.tooltip
    assert "db — 17.1.0 · error\n  the agent is not running" in view.tooltip


def test_menu_texts_for_pause_rollback_and_progress() -> None:
    pinned = tray_view([status(pinned=True, backup="17.0.0", backup_installed=True)]).agents[0]
    assert pinned.pause_text == "Resume updates"
    assert pinned.headline.endswith("paused (pinned)")
    assert pinned.can_rollback and pinned.backup == "17.0.0"
    busy = tray_view(
        [status(busy="updating", progress={"bytes_done": 50, "bytes_total": 200})]
    ).agents[0]
    assert busy.pause_text == "Pause updates (pin)"
    assert busy.progress_text is not None and busy.progress_text.startswith("downloading 25%")
    assert not busy.can_rollback
    assert not tray_view([status(backup="17.0.0", backup_installed=False)]).agents[0].can_rollback


def test_no_agents_and_daemon_down() -> None:
    assert tray_view([]).state is IconState.ATTENTION
    down = daemon_down_view("no socket at /run/shepherd/api.sock")
    assert down.state is IconState.DAEMON_DOWN and not down.daemon_up
    assert "no socket" in down.tooltip


def note(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "notification",
        "agent": "default",
        "level": "info",
        "title": title,
        "message": "17.1.0 -> 17.2.1",
        **extra,
    }


@pytest.mark.parametrize(
    ("title", "settings", "shown"),
    [
        ("Agent updated", {}, True),
        ("Agent updated", {"notifications.on_update": False}, False),
        ("Update failed", {"notifications.on_failure": False}, False),
        ("Update blocked", {"notifications.on_failure": False}, False),
        ("Update failed", {"notifications.on_update": False}, True),
        ("Rolled back", {"notifications.on_rollback": False}, False),
        ("Interrupted update repaired", {"notifications.on_rollback": True}, True),
        ("Something new", {"notifications.on_update": False}, True),
    ],
    ids=[
        "an update is announced by default",
        "on_update off silences updates",
        "on_failure off silences failures",
        "on_failure off silences blocked updates",
        "on_update off does not silence failures",
        "on_rollback off silences rollbacks",
        "a repaired update is a rollback kind",
        "an unknown kind is shown",
    ],
)
def test_notifications_respect_settings(title: str, settings: dict[str, Any], shown: bool) -> None:
    notice = notification_for(note(title), settings)
    assert (notice is not None) is shown
    if notice is not None:
        assert notice.title == title and notice.message == "default: 17.1.0 -> 17.2.1"


def test_only_notification_events_notify() -> None:
    assert notification_for({"type": "progress", "bytes_done": 1}, {}) is None
    assert notification_for({"type": "operation", "ok": True}, {}) is None


def test_daemon_going_away_and_coming_back_is_announced_once() -> None:
    up = tray_view([status()])
    down = daemon_down_view("not running")
    assert daemon_state_notice(None, down) is None  # starting without a daemon: the icon says it
    assert daemon_state_notice(up, up) is None
    gone = daemon_state_notice(up, down)
    assert gone is not None and gone.level == "error"
    assert daemon_state_notice(down, daemon_down_view("still not")) is None
    back = daemon_state_notice(down, up)
    assert back is not None and back.title == "Shepherd daemon is back"


def test_no_rollback_is_offered_onto_a_version_that_failed_here() -> None:
    refused = status(
        backup="17.2.1",
        backup_installed=True,
        rollback_refused="the backup 17.2.1 of agent 'default' is the version that just failed",
    )
    assert not tray_view([refused]).agents[0].can_rollback
