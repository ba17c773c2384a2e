"""The tray app against a REAL daemon: a ``shepherd daemon`` process on a sandbox host with
a supervisord agent on 17.1.0 and 17.2.1 published. Qt runs offscreen, where there is no
tray host, so the fallback window is what shows; the menu's actions are the tray's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from gui.feedback import UpdateChoice, UpdateOffer
from gui.prompts import Prompts
from gui.tray import TrayController
from gui.viewmodel import IconState, Notice
from gui.worker import ApiWorker
from sandbox.emulator import Hostile
from sandbox.ports import wait_until
from tests.fixtures.daemon import RunningDaemon

pytestmark = pytest.mark.integration

WAIT_MS = 60_000


class ScriptedPrompts(Prompts):
    """Answers the tray's questions without a modal dialog, and remembers them."""

    def __init__(self) -> None:
        super().__init__(None)
        self.asked: list[str] = []
        self.answer = True
        self.reason: str | None = "TLS errors after 17.2.1"
        self.choice: UpdateChoice | None = UpdateChoice.NOW
        self.offers: list[UpdateOffer] = []
        self.texts: list[str] = []

    def confirm(self, title: str, text: str) -> bool:
        self.asked.append(title)
        return self.answer

    def rollback_reason(self, title: str, text: str, *, ok_text: str = "") -> str | None:
        self.asked.append(title)
        self.texts.append(ok_text)
        return self.reason

    def update_choice(self, offer: UpdateOffer) -> UpdateChoice | None:
        self.asked.append("Update now")
        self.offers.append(offer)
        return self.choice


@dataclass
class Tray:
    controller: TrayController
    worker: ApiWorker
    prompts: ScriptedPrompts
    daemon: RunningDaemon
    notices: list[Notice] = field(default_factory=list)

    def status(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.daemon.api.get("/v1/agents/default")
        return answer

    def window_text(self) -> str:
        window = self.controller.window
        assert window is not None
        cards = [window.card_text(name) for name in window.cards]
        return "\n".join([window.summary.text(), *cards])

    def trigger(self, key: str) -> None:
        action = self.controller.actions[key]
        assert action.isEnabled(), f"{key} is disabled: {action.text()}"
        action.trigger()


def start_tray(qtbot: QtBot, daemon: RunningDaemon, *, use_tray: bool = False) -> Tray:
    worker = ApiWorker(daemon.socket, retry_seconds=0.2, max_retry_seconds=1.0)
    prompts = ScriptedPrompts()
    controller = TrayController(worker, prompts=prompts, use_tray=use_tray)
    if controller.window is not None:
        qtbot.addWidget(controller.window)
    tray = Tray(controller, worker, prompts, daemon)
    controller.notified.connect(tray.notices.append)
    worker.start()
    controller.show()
    return tray


def wait_until_started(daemon: RunningDaemon) -> None:
    """The daemon answers before each agent's poll loop has done its start-up repair, which
    shows the agent busy ("repairing"), its actions disabled; the loop sets ``next_check``
    once that is over."""

    def idle() -> bool:
        status = daemon.api.get("/v1/agents/default")
        return status["next_check"] is not None and status["busy"] is None

    wait_until(idle, WAIT_MS / 1000, "the daemon to finish starting the agent's poll loop")


@pytest.fixture
def tray(qtbot: QtBot, shepherd_daemon: RunningDaemon) -> Iterator[Tray]:
    wait_until_started(shepherd_daemon)
    tray = start_tray(qtbot, shepherd_daemon)
    try:
        qtbot.waitUntil(lambda: "default — 17.1.0" in tray.window_text(), timeout=WAIT_MS)
        yield tray
    finally:
        tray.worker.stop()
        tray.controller.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("shepherd-tray")]


def wait_for_view(qtbot: QtBot, tray: Tray, predicate: Any) -> None:
    qtbot.waitUntil(lambda: predicate(tray.controller.view), timeout=WAIT_MS)


def test_the_window_shows_the_agent_its_version_and_why(tray: Tray) -> None:
    assert tray.controller.window is not None and tray.controller.tray is None
    # the daemon has not asked the cluster yet: that is not "up to date"
    assert tray.controller.view.state is IconState.UNCHECKED
    assert "default — 17.1.0 · not checked yet" in tray.window_text()
    assert "up to date" not in tray.window_text()
    assert tray.controller.actions["about:default"].text() == "default — 17.1.0 · not checked yet"
    assert tray.controller.actions["update:default"].isEnabled()
    # the sandbox agent was installed over 17.0.5, which is its backup
    assert tray.controller.actions["rollback:default"].text() == "Roll back to 17.0.5…"


def test_an_offer_behind_a_closed_window_is_update_available_not_up_to_date(
    qtbot: QtBot, tray: Tray
) -> None:
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS):
        tray.trigger("check:default")
    wait_for_view(qtbot, tray, lambda v: v.state is IconState.AVAILABLE)
    agent = tray.controller.view.agents[0]
    assert agent.headline == "default — 17.1.0 · 17.2.1 available"
    assert agent.why.startswith(
        "17.2.1 is offered but the cluster has not opened the update window"
    )
    assert "up to date" not in tray.window_text()
    assert tray.controller.actions["update:default"].text() == "Update to 17.2.1…"
    # Check now is acknowledged with the daemon's answer, and the offer announced once
    titles = [n.title for n in tray.notices]
    assert "Checked" in titles and titles.count("Update available") == 1
    window = tray.controller.window
    assert window is not None
    card = window.card_text("default")
    assert "offered: 17.2.1 — waits for the cluster's update window" in card
    assert window.buttons["update:default"].text() == "Update to 17.2.1…"


def test_garbage_from_the_cluster_is_shown_as_a_problem(qtbot: QtBot, tray: Tray) -> None:
    tray.daemon.api.post("/v1/agents/default/check")
    tray.daemon.cluster.set_mode(Hostile.MALFORMED_JSON)
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS):
        tray.trigger("check:default")
    wait_for_view(qtbot, tray, lambda v: v.state is IconState.ATTENTION)
    agent = tray.controller.view.agents[0]
    assert "Could not ask the cluster" in agent.why
    assert "up to date" not in tray.window_text()


def test_the_tray_icon_shows_the_state_in_its_tooltip(
    qtbot: QtBot, shepherd_daemon: RunningDaemon
) -> None:
    tray = start_tray(qtbot, shepherd_daemon, use_tray=True)
    try:
        icon = tray.controller.tray
        assert icon is not None and tray.controller.window is None
        qtbot.waitUntil(lambda: "default — 17.1.0" in icon.toolTip(), timeout=WAIT_MS)
        assert "not checked yet" in icon.toolTip()
        assert not icon.icon().isNull()
    finally:
        tray.worker.stop()
        tray.controller.close()


def test_update_now_from_the_menu_updates_and_notifies_once(qtbot: QtBot, tray: Tray) -> None:
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS) as done:
        tray.trigger("update:default")
    assert tray.prompts.asked == ["Update now"]
    assert done.args is not None and done.args[0] == "update:default"
    assert done.args[1]["outcome"]["ok"] is True
    wait_for_view(qtbot, tray, lambda v: v.agents and v.agents[0].version == "17.2.1")
    qtbot.waitUntil(lambda: any(n.title == "Agent updated" for n in tray.notices), timeout=WAIT_MS)
    status = tray.status()
    assert (status["active"], status["backup"]) == ("17.2.1", "17.1.0")
    layout = tray.daemon.host.layouts["default"]
    tray.daemon.host.wait_healthy(layout)
    assert tray.daemon.host.running_version(layout) == "17.2.1"
    # the check-now answer (no update) raises no notification; so the count is final
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS):
        tray.trigger("check:default")
    assert [n.title for n in tray.notices].count("Agent updated") == 1
    assert "default — 17.2.1" in tray.window_text()


def test_update_now_cancelled_changes_nothing(qtbot: QtBot, tray: Tray) -> None:
    tray.prompts.answer = False
    tray.trigger("update:default")
    assert tray.prompts.asked == ["Update now"]
    with qtbot.waitSignal(tray.controller.view_changed, timeout=WAIT_MS):
        tray.worker.refresh()  # the status as the daemon has it now
    assert tray.status()["active"] == "17.1.0"


def test_one_click_rollback_with_a_reason(qtbot: QtBot, tray: Tray) -> None:
    tray.daemon.api.post("/v1/agents/default/update", {"now": True})
    wait_for_view(qtbot, tray, lambda v: v.agents and v.agents[0].version == "17.2.1")
    assert tray.controller.actions["rollback:default"].text() == "Roll back to 17.1.0…"
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS) as done:
        tray.trigger("rollback:default")
    assert done.args is not None and done.args[1]["ok"] is True
    status = tray.status()
    assert status["active"] == "17.1.0"
    assert status["bad"]["17.2.1"]["reason"] == "TLS errors after 17.2.1"
    layout = tray.daemon.host.layouts["default"]
    tray.daemon.host.wait_healthy(layout)
    assert tray.daemon.host.running_version(layout) == "17.1.0"
    qtbot.waitUntil(lambda: any(n.title == "Rolled back" for n in tray.notices), timeout=WAIT_MS)
    wait_for_view(qtbot, tray, lambda v: v.state is IconState.ATTENTION)  # 17.2.1 is bad now
    assert "17.2.1 remembered as bad" in tray.window_text()


def test_pause_and_resume_pin_and_unpin(qtbot: QtBot, tray: Tray) -> None:
    assert tray.controller.actions["pause:default"].text() == "Pause updates (pin)"
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS):
        tray.trigger("pause:default")
    assert tray.status()["pinned"] is True
    wait_for_view(qtbot, tray, lambda v: v.agents and v.agents[0].pinned and not v.agents[0].busy)
    assert tray.controller.actions["pause:default"].text() == "Resume updates"
    assert "paused (pinned)" in tray.window_text()
    with qtbot.waitSignal(tray.controller.action_done, timeout=WAIT_MS):
        tray.trigger("pause:default")
    assert tray.status()["pinned"] is False
    wait_for_view(
        qtbot, tray, lambda v: v.agents and not v.agents[0].pinned and not v.agents[0].busy
    )
    assert tray.controller.actions["pause:default"].text() == "Pause updates (pin)"


def open_settings(qtbot: QtBot, tray: Tray) -> Any:
    tray.trigger("settings")
    dialog = tray.controller.settings
    assert dialog is not None
    qtbot.waitUntil(lambda: bool(dialog.edits), timeout=WAIT_MS)
    return dialog


def test_settings_save_a_proxy_and_show_the_apis_error_for_an_http_cdn(
    qtbot: QtBot, tray: Tray
) -> None:
    dialog = open_settings(qtbot, tray)
    assert set(dialog.edits) >= {
        "network.http_proxy",
        "network.proxy_user",
        "network.ca_bundle",
        "download.base_url",
        "agents.default.proxy",
        "agents.default.group",
    }
    dialog.edits["network.http_proxy"].setText("http://proxy.example:3128")
    dialog.edits["agents.default.group"].setText("canaries")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        dialog.save()
    host = tray.daemon.api.get("/v1/settings")["settings"]
    assert host["host"]["network.http_proxy"] == "http://proxy.example:3128"
    assert host["agents"]["default"]["group"] == "canaries"
    before = tray.daemon.api.get("/v1/settings")["settings"]

    dialog.edits["network.http_proxy"].setText("http://other.example:8080")
    dialog.edits["download.base_url"].setText("http://mirror.example")
    with qtbot.waitSignal(dialog.refused, timeout=WAIT_MS) as refused:
        dialog.save()
    error = dialog.errors["download.base_url"]
    assert error.isVisibleTo(dialog) and error.text() == refused.args[0]
    assert "download.base_url" in error.text() and "http://mirror.example" in error.text()
    assert not dialog.errors["network.http_proxy"].isVisibleTo(dialog)
    assert tray.daemon.api.get("/v1/settings")["settings"] == before  # nothing written
    assert "nothing was changed" in dialog.message.text()


def test_a_secret_is_stored_and_never_shown_again(qtbot: QtBot, tray: Tray) -> None:
    secret = "pw-7f3a9c-never-shown"
    dialog = open_settings(qtbot, tray)
    assert dialog.secret_states["proxy-password"].text() == "not stored"
    field = dialog.secret_edits["proxy-password"]
    assert field.echoMode() is QLineEdit.EchoMode.Password
    field.setText(secret)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        dialog.save()
    assert tray.daemon.api.get("/v1/secrets")["stored"]["proxy-password"] is True
    assert dialog.secret_states["proxy-password"].text() == "stored"
    assert dialog.secret_states["mirror-token"].text() == "not stored"
    for widget in QApplication.allWidgets():
        assert secret not in widget_texts(widget), widget
    assert secret not in tray.daemon.log_text()


def widget_texts(widget: QWidget) -> str:
    texts = [widget.windowTitle(), widget.toolTip(), widget.statusTip(), widget.accessibleName()]
    if isinstance(widget, QLineEdit):
        texts += [widget.text(), widget.displayText(), widget.placeholderText()]
    if isinstance(widget, QLabel | QAbstractButton):
        texts.append(widget.text())
    return "\n".join(texts)


def test_daemon_down_then_back_after_a_restart(qtbot: QtBot, tray: Tray) -> None:
    tray.daemon.stop()
    wait_for_view(qtbot, tray, lambda v: v.state is IconState.DAEMON_DOWN)
    assert "daemon is not answering" in tray.window_text()
    assert "update:default" not in tray.controller.actions
    assert [n.title for n in tray.notices] == ["Shepherd daemon stopped"]

    tray.daemon.restart()
    wait_for_view(qtbot, tray, lambda v: v.state is IconState.UNCHECKED)  # a fresh daemon
    assert "default — 17.1.0" in tray.window_text()
    assert [n.title for n in tray.notices] == ["Shepherd daemon stopped", "Shepherd daemon is back"]
    # and the event stream is followed again: an update's notification arrives
    tray.daemon.api.post("/v1/agents/default/update", {"now": True})
    qtbot.waitUntil(lambda: any(n.title == "Agent updated" for n in tray.notices), timeout=WAIT_MS)


def test_history_and_schedule_views_load_from_the_api(qtbot: QtBot, tray: Tray) -> None:
    tray.daemon.api.post("/v1/agents/default/update", {"now": True})
    tray.trigger("history")
    history = tray.controller.history
    assert history is not None
    qtbot.waitUntil(lambda: history.table.rowCount() > 0, timeout=WAIT_MS)
    first = history.rows()[0]
    assert (first["What"], first["Result"], first["Versions"]) == (
        "Update",
        "succeeded",
        "17.1.0 → 17.2.1",
    )
    history.close()  # a closed window is deleted, not kept while the tray idles
    qtbot.waitUntil(lambda: tray.controller.history is None, timeout=WAIT_MS)
    tray.trigger("history")  # and built anew on the next open
    reopened = tray.controller.history
    assert reopened is not None and reopened is not history and reopened.isVisible()

    tray.daemon.api.request(
        "PATCH", "/v1/settings", body={"changes": {"agents.default.windows": "tue 02:00 2h UTC"}}
    )
    tray.trigger("schedule")  # the status window's week strip is the schedule
    window = tray.controller.window
    assert window is not None and window.isVisible()
    qtbot.waitUntil(
        lambda: any(t.startswith("local windows: Tue") for t in window.strip.band_texts()),
        timeout=WAIT_MS,
    )
    strip = window.strip.strip
    assert strip is not None
    assert f"times in {strip.zone}, this desktop's zone" in window.strip_title.text()
    band = next(t for t in window.strip.band_texts() if t.startswith("local windows"))
    assert band.endswith(f"{strip.zone} (local window)")
    assert window.next_update.text() == strip.next_text


def test_notifications_the_admin_switched_off_stay_quiet(qtbot: QtBot, tray: Tray) -> None:
    with qtbot.waitSignal(tray.worker.event_received, timeout=WAIT_MS):
        tray.daemon.api.request(
            "PATCH", "/v1/settings", body={"changes": {"notifications.on_update": "false"}}
        )
    qtbot.waitUntil(
        lambda: tray.controller.host_settings.get("notifications.on_update") is False,
        timeout=WAIT_MS,
    )
    events: list[dict[str, Any]] = []
    tray.worker.event_received.connect(events.append)
    tray.daemon.api.post("/v1/agents/default/update", {"now": True})
    qtbot.waitUntil(lambda: any(e.get("title") == "Agent updated" for e in events), timeout=WAIT_MS)
    assert tray.notices == []


def test_the_status_is_read_at_connect_and_when_an_event_says_it_changed(
    qtbot: QtBot, tray: Tray
) -> None:
    reads = tray.worker.status_reads
    assert reads >= 1
    with qtbot.waitSignal(tray.worker.event_received, timeout=WAIT_MS):
        tray.daemon.api.post("/v1/agents/default/pin")
    wait_for_view(qtbot, tray, lambda v: v.agents and v.agents[0].pinned)
    assert tray.worker.status_reads > reads
    assert "paused (pinned)" in tray.window_text()
