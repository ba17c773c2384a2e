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


def offer(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "target": "17.2.1",
        "installed": False,
        "held_by": "cluster-window",
        "why": "17.2.1 is offered but the cluster has not opened the update window",
        "installs_at": None,
        "offered_at": "2026-01-01T01:00:00+00:00",
        "cluster_problem": None,
    }
    return base | changes


WAITING = offer()
CLOSED = "The cluster has not opened the update window; checking at 02:00"
OLD_DAEMON = {"reason": "outside-cluster-window", "target": "17.2.1"}
UNREACHABLE = {"action": "nothing", "reason": "cluster-unreachable"}
GARBAGE = offer(held_by="cluster-unreachable", cluster_problem="invalid JSON")
BAD = {"17.2.1": {"reason": "TLS"}}


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
            "action": "nothing",
            "reason": "outside-cluster-window",
            "message": CLOSED,
            "target": "17.1.0",
            "next_check": "2026-01-01T02:00:00+00:00",
        },
        "offer": offer(target="17.1.0", installed=True, held_by=None, why=CLOSED),
        "last_result": None,
        "problems": [],
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({}, IconState.OK),
        ({"pinned": True}, IconState.PAUSED),
        ({"pinned": True, "offer": WAITING}, IconState.PAUSED),
        ({"offer": WAITING}, IconState.AVAILABLE),
        ({"offer": offer(held_by="local-window")}, IconState.AVAILABLE),
        ({"offer": offer(held_by="blackout")}, IconState.AVAILABLE),
        ({"offer": offer(held_by="canary")}, IconState.AVAILABLE),
        ({"offer": None, "decision": None}, IconState.UNCHECKED),
        ({"offer": None, "decision": OLD_DAEMON}, IconState.AVAILABLE),
        ({"offer": GARBAGE}, IconState.ATTENTION),
        ({"offer": None, "decision": UNREACHABLE}, IconState.ATTENTION),
        ({"bad": BAD, "offer": offer(held_by="remembered-bad")}, IconState.ATTENTION),
        ({"skip": "17.2.1", "offer": offer(held_by="failed-here")}, IconState.ATTENTION),
        ({"bad": {"17.0.0": {}}, "offer": offer(target="17.2.2")}, IconState.AVAILABLE),
        ({"busy": "updating"}, IconState.UPDATING),
        ({"busy": "updating", "health": {"running": False}}, IconState.UPDATING),
        ({"problems": ["update.yaml is not valid"]}, IconState.ERROR),
        ({"health": {"running": False, "pid": None, "ready": None}}, IconState.ERROR),
        ({"decision": {"action": "error", "message": "cluster unreachable"}}, IconState.ERROR),
        ({"last_result": {"ok": False, "message": "rolled back"}}, IconState.ATTENTION),
        ({"health": {"running": True, "pid": 1, "ready": False}}, IconState.ATTENTION),
        ({"enabled": False}, IconState.ATTENTION),
        ({"bad": {"17.2.1": {"reason": "TLS"}}, "offer": None}, IconState.ATTENTION),
    ],
    ids=[
        "the offer is installed: up to date",
        "pinned is paused",
        "pinned with an offer is still paused",
        "a closed cluster window: update available",
        "a local window ahead: update available",
        "a blackout: update available",
        "a canary first: update available",
        "never checked is not up to date",
        "an older daemon's decision target counts",
        "garbage from the cluster needs attention",
        "an unreachable cluster needs attention",
        "the offer remembered as bad needs attention",
        "the offer failed here needs attention",
        "an old bad version does not hide a new offer",
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
)  # fmt: skip
def test_agent_state(changes: dict[str, Any], state: IconState) -> None:
    assert tray_view([status(**changes)]).state is state


def test_the_worst_agent_sets_the_icon_and_the_tooltip_says_why() -> None:
    view = tray_view(
        [status(), status(agent="db", health={"running": False, "pid": None, "ready": None})]
    )
    assert view.state is IconState.ERROR
    assert "default — 17.1.0 · up to date" in view.tooltip
    assert CLOSED in view.tooltip
    assert "db — 17.1.0 · error\n  the agent is not running" in view.tooltip


def test_menu_texts_for_pause_rollback_and_progress() -> None:
    pinned = tray_view([status(pinned=True, backup="17.0.0", backup_installed=True)]).agents[0]
    assert pinned.pause_text == "Resume updates"
    assert pinned.headline.endswith("paused (pinned)")
    assert not pinned.can_update
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


def test_an_offer_waiting_for_its_window_names_the_version_and_the_wait() -> None:
    view = tray_view(
        [status(offer=offer(held_by="local-window", installs_at="2026-01-01T02:00:00+00:00"))]
    )
    agent = view.agents[0]
    assert agent.headline == "default — 17.1.0 · 17.2.1 available"
    assert agent.why == "17.2.1 is offered but the cluster has not opened the update window"
    assert tray_view([status(offer=offer(why=""))]).agents[0].why == (
        "17.2.1 waits for the cluster's update window"
    )
    assert (agent.offered, agent.held_by, agent.installs_at) == (
        "17.2.1",
        "local-window",
        "2026-01-01T02:00:00+00:00",
    )
    assert view.state is IconState.AVAILABLE and agent.can_update
    assert "up to date" not in view.tooltip


@pytest.mark.parametrize(
    ("changes", "can_rollback"),
    [
        ({}, True),
        ({"bad": {"17.0.0": {"reason": "TLS"}}}, False),
        ({"skip": "17.0.0"}, False),
        ({"last_update": {"success": False, "target": "17.0.0", "time": None}}, False),
        ({"last_update": {"success": True, "target": "17.0.0", "time": None}}, True),
    ],
    ids=[
        "a healthy backup",
        "the backup is remembered as bad",
        "the backup failed here",
        "the backup's update failed last",
        "the backup's update succeeded",
    ],
)  # fmt: skip
def test_rollback_never_offers_a_version_that_failed(
    changes: dict[str, Any], can_rollback: bool
) -> None:
    agent = tray_view([status(backup="17.0.0", backup_installed=True, **changes)]).agents[0]
    assert agent.can_rollback is can_rollback


def test_remembered_bad_offers_allow_again_and_keeps_other_news() -> None:
    bad = status(bad={"17.2.1": {"reason": "TLS"}}, offer=offer(held_by="remembered-bad"))
    agent = tray_view([bad]).agents[0]
    assert agent.allow_again == "17.2.1" and not agent.can_update
    assert "Allow again" in agent.why
    newer = tray_view([status(bad={"17.2.1": {"reason": "TLS"}}, offer=offer(target="17.2.2"))])
    assert newer.agents[0].headline.endswith("17.2.2 available")
    assert newer.agents[0].allow_again == "17.2.1"


def test_a_package_agent_shows_its_package_fields() -> None:
    package = status(
        agent="package",
        kind="package",
        package="teleport-ent",
        version="17.1.0",
        manager="dpkg",
        locked=True,
        repository={"url": "https://apt.example", "key_file": "/k.gpg"},
    )
    agent = tray_view([package]).agents[0]
    assert agent.kind == "package"
    assert agent.details[0] == "package teleport-ent 17.1.0 (dpkg, version held)"
    unset = tray_view([package | {"repository": None, "locked": None}]).agents[0]
    assert unset.details == (
        "package teleport-ent 17.1.0 (dpkg)",
        "no package repository set: it is not updated",
    )
