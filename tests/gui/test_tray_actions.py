"""The tray's actions against a REAL daemon (issue 15, defects 2, 3 and 9): what the menu
offers after a rollback, refusals with the daemon's reason, Allow again, acknowledgements,
the update prompt's three answers, the status window and its week strip. Qt offscreen."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from gui.feedback import UpdateChoice, UpdateOffer, release_notes_url
from gui.prompts import update_message_box
from gui.viewmodel import IconState
from tests.fixtures.daemon import RunningDaemon
from tests.gui.test_tray_daemon import (
    WAIT_MS,
    Tray,
    start_tray,
    wait_for_view,
    wait_until_started,
)

pytestmark = pytest.mark.integration


def update_then_roll_back(qtbot: QtBot, tray: Tray) -> None:
    tray.daemon.api.post("/v1/agents/default/update", {"now": True})
    wait_for_view(qtbot, tray, lambda v: v.agents and v.agents[0].version == "17.2.1")
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS):
        tray.trigger("rollback:default")
    wait_for_view(qtbot, tray, lambda v: v.agents[0].version == "17.1.0" and not v.agents[0].busy)


def test_after_a_rollback_the_bad_version_is_not_offered_and_can_be_allowed_again(
    qtbot: QtBot, tray: Tray
) -> None:
    update_then_roll_back(qtbot, tray)
    assert tray.prompts.texts == ["Roll back to 17.1.0"]  # the button says what it does
    assert tray.status()["backup"] == "17.2.1"
    rollback = tray.controller.actions["rollback:default"]
    assert not rollback.isEnabled()  # 17.2.1 is the backup, and remembered as bad
    assert tray.controller.actions["allow:default"].text() == "Allow 17.2.1 again…"
    assert not tray.controller.actions["update:default"].isEnabled()
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS):
        tray.trigger("allow:default")
    assert tray.status()["bad"] == {}
    assert any(n.title == "Allowed again" and "17.2.1" in n.message for n in tray.notices)
    wait_for_view(qtbot, tray, lambda v: v.agents[0].allow_again is None)
    assert "allow:default" not in tray.controller.actions


def test_a_refused_rollback_shows_the_daemons_reason_once(qtbot: QtBot, tray: Tray) -> None:
    update_then_roll_back(qtbot, tray)
    stale = tray.controller.view.agents[0]  # as a menu opened before the refresh would have it
    with qtbot.waitSignal(tray.controller.action_failed, timeout=WAIT_MS) as failed:
        tray.controller.rollback(stale)
    assert failed.args is not None and "remembered as bad" in failed.args[1]
    refused = [n for n in tray.notices if n.title == "Rollback refused"]
    assert len(refused) == 1
    assert refused[0].message.startswith("default: the backup 17.2.1 of agent 'default'")
    assert "clear it first" in refused[0].message


def test_pause_is_acknowledged_shown_as_paused_and_update_now_is_disabled(
    qtbot: QtBot, tray: Tray
) -> None:
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS):
        tray.trigger("pause:default")
    assert any(n.title == "Updates paused" for n in tray.notices)
    wait_for_view(qtbot, tray, lambda v: v.state is IconState.PAUSED)
    assert not tray.controller.actions["update:default"].isEnabled()
    window = tray.controller.window
    assert window is not None
    assert window.buttons["pause:default"].text() == "Resume updates"
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS):
        window.buttons["pause:default"].click()  # the card's action
    assert tray.status()["pinned"] is False
    assert any(n.title == "Updates resumed" for n in tray.notices)


def test_the_update_prompt_names_the_version_and_links_its_release_notes(
    qtbot: QtBot, tray: Tray
) -> None:
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS):
        tray.trigger("check:default")
    wait_for_view(qtbot, tray, lambda v: v.state is IconState.AVAILABLE)
    tray.prompts.choice = UpdateChoice.AT_WINDOW
    tray.trigger("update:default")
    offer = tray.prompts.offers[-1]
    assert (offer.agent, offer.version, offer.current) == ("default", "17.2.1", "17.1.0")
    assert offer.notes_url == "https://github.com/gravitational/teleport/releases/tag/v17.2.1"
    assert "when the cluster opens its update window" in offer.when_text
    assert tray.notices[-1].title == "Update at the next window"
    assert tray.status()["active"] == "17.1.0"

    box, buttons = update_message_box(offer)
    qtbot.addWidget(box)
    assert box.windowTitle() == "Update default to 17.2.1"
    assert "Release notes for 17.2.1" in box.text() and offer.notes_url in box.text()
    texts = {choice: b.text() for choice, b in buttons.items()}  # type: ignore[attr-defined]
    assert texts == {
        UpdateChoice.NOW: "Install now",
        UpdateChoice.AT_WINDOW: "At the next window",
        UpdateChoice.SKIP: "Skip this version",
    }
    assert box.escapeButton() is buttons[UpdateChoice.AT_WINDOW]

    tray.prompts.choice = UpdateChoice.SKIP
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS):
        tray.trigger("update:default")
    status = tray.status()
    assert status["bad"]["17.2.1"]["reason"] == "skipped from the tray"
    assert status["active"] == "17.1.0"
    assert tray.notices[-1].title == "Version skipped"
    check = tray.daemon.api.post("/v1/agents/default/update", {"now": True})
    assert check["decision"]["reason"] == "target-marked-bad"  # not installed, even "now"


def test_the_status_window_shows_one_card_per_agent_and_the_week_strip(
    qtbot: QtBot, tray: Tray
) -> None:
    tray.daemon.api.request(
        "PATCH",
        "/v1/settings",
        body={
            "changes": {
                "agents.default.windows": "daily 02:00 2h UTC",
                "agents.default.blackouts": "sat 00:00 1d UTC",
            }
        },
    )
    tray.daemon.api.post("/v1/agents/default/check")
    tray.trigger("status")
    window = tray.controller.window
    assert window is not None
    qtbot.waitUntil(lambda: bool(window.strip.strip and window.strip.strip.bands), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "offered: 17.2.1" in window.card_text("default"), timeout=WAIT_MS)
    assert list(window.cards) == ["default"]  # each agent once
    assert window.summary.text().count("default —") == 1
    strip = window.strip.strip
    assert strip is not None
    zone = datetime.now().astimezone().tzname()
    assert strip.zone == zone and f"times in {zone}" in window.strip_title.text()
    lanes = {b.lane for b in strip.bands}
    assert lanes == {"local windows", "blackouts"}
    assert sum(b.lane == "local windows" for b in strip.bands) in (7, 8)
    assert strip.start <= strip.now < strip.end
    assert window.next_update.text().startswith("next possible update")
    assert "the cluster opens its v2 window itself; seen closed at" in window.notes.text()
    assert any("02:00" in t or "local windows" in t for t in window.strip.band_texts())


def test_in_a_tray_a_left_click_opens_the_status_window(
    qtbot: QtBot, shepherd_daemon: RunningDaemon
) -> None:
    wait_until_started(shepherd_daemon)
    tray = start_tray(qtbot, shepherd_daemon, use_tray=True)
    try:
        icon = tray.controller.tray
        assert icon is not None
        qtbot.waitUntil(lambda: bool(tray.controller.view.agents), timeout=WAIT_MS)
        icon.activated.emit(icon.ActivationReason.Trigger)
        window = tray.controller.status_window
        assert window is not None and window.isVisible()
        qtbot.addWidget(window)
        assert window.actions_button is None
        assert "default — 17.1.0" in window.card_text("default")
    finally:
        tray.worker.stop()
        tray.controller.close()


def test_long_menu_texts_are_elided_with_the_full_text_in_the_tooltip(
    qtbot: QtBot, tray: Tray
) -> None:
    long = "x" * 400
    menu = QMenu()
    action = tray.controller._add(menu, "probe", long, None)
    assert action.text() != long and action.text().endswith("…")
    assert action.toolTip() == long


def test_qt_options_reach_qt_and_unknown_ones_are_refused(tmp_path: Path) -> None:
    probe = (
        "import sys; from gui.app import _arguments, _application; "
        "o, q = _arguments(sys.argv[1:]); app = _application(q, o.error); "
        "print(app.style().name(), app.platformName(), o.socket)"
    )
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    qt = ["-platform", "offscreen", "-style", "fusion"]
    ok = subprocess.run(
        [sys.executable, "-c", probe, *qt, "--socket", "/s"],
        capture_output=True, text=True, env=env, cwd=root, timeout=60, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split() == ["fusion", "offscreen", "/s"]
    bad = subprocess.run(
        [sys.executable, "-c", probe, "-platform", "offscreen", "--sockte", "/s"],
        capture_output=True, text=True, env=env, cwd=root, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "unrecognized arguments: --sockte /s" in bad.stderr


def test_release_notes_name_the_plain_version() -> None:
    assert release_notes_url("17.2.1_ent_fips").endswith("/v17.2.1")
    assert UpdateOffer("a", None, "1", "", None).title == "Update a"


def test_update_news_stays_quiet_when_the_admin_switched_it_off(qtbot: QtBot, tray: Tray) -> None:
    tray.daemon.api.request(
        "PATCH", "/v1/settings", body={"changes": {"notifications.on_update": "false"}}
    )
    qtbot.waitUntil(
        lambda: tray.controller.host_settings.get("notifications.on_update") is False,
        timeout=WAIT_MS,
    )
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS):
        tray.trigger("check:default")
    wait_for_view(qtbot, tray, lambda v: v.state is IconState.AVAILABLE)
    assert [n.title for n in tray.notices] == ["Checked"]  # the action's answer only
