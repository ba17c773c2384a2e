"""The tray on a desktop with a StatusNotifierItem panel and a real notification server
(dunst), against the REAL daemon (issue 15: NeedsAttention, symbolic icons, notification
actions). Two panels: tests/gui/sni_panel.py, a minimal StatusNotifierWatcher that reads
the item's properties and dbusmenu as a panel does and logs each reading (so the tests can
assert what a panel sees), and xfce4-panel, a real one, for registration and reads. dunst
is the real notification server, driven with dunstctl as a user would. Qt itself runs
offscreen: the icon, the menu and the notifications all go over the session bus."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import open_dbus_connection
from pytestqt.qtbot import QtBot

from gui.icons import symbolic_name
from gui.viewmodel import IconState
from sandbox.agentbuild import Behaviour
from sandbox.ports import wait_until
from tests.fixtures.daemon import RunningDaemon
from tests.fixtures.desktop import Desktop
from tests.gui.test_tray_daemon import WAIT_MS, Tray, start_tray, wait_until_started
from tests.gui.tray_process import start_tray_process

pytestmark = pytest.mark.integration


@pytest.fixture
def panel_tray(qtbot: QtBot, desktop: Desktop, shepherd_daemon: RunningDaemon) -> Iterator[Tray]:
    wait_until_started(shepherd_daemon)
    tray = start_tray(qtbot, shepherd_daemon, use_tray=None)  # as the program decides
    try:
        qtbot.waitUntil(
            lambda: "default — 17.1.0" in desktop.latest().get("ToolTip", [""] * 4)[3],
            timeout=WAIT_MS,
        )
        yield tray
    finally:
        tray.worker.stop()
        tray.controller.close()


def ask(qtbot: QtBot, service: str, path: str, interface: str, method: str,
        signature: str | None = None, body: tuple[Any, ...] = ()) -> tuple[Any, ...]:  # fmt: skip
    """A method call from another connection (as the panel makes it), answered while the
    tray's event loop runs."""

    def call() -> tuple[Any, ...]:
        with open_dbus_connection("SESSION") as bus:
            address = DBusAddress(path, service, interface)
            message = new_method_call(address, method, signature, body)
            return tuple(bus.send_and_get_reply(message, timeout=WAIT_MS / 1000).body)

    with ThreadPoolExecutor(1) as pool:
        future: Future[tuple[Any, ...]] = pool.submit(call)
        qtbot.waitUntil(future.done, timeout=WAIT_MS)
        return future.result()


def menu_ids(layout: Any) -> dict[str, int]:
    item_id, props, children = layout
    found = {str(props["label"][1]): int(item_id)} if "label" in props else {}
    for _signature, child in children:
        found.update(menu_ids(child))
    return found


def test_the_panel_shows_a_symbolic_icon_a_tooltip_and_the_menu_and_a_click_opens_status(
    qtbot: QtBot, desktop: Desktop, panel_tray: Tray
) -> None:
    controller = panel_tray.controller
    assert controller.sni is not None and controller.tray is None and controller.window is None
    item = desktop.latest()
    assert item["service"].startswith("org.kde.StatusNotifierItem-")
    assert item["Status"] == "Active"  # not checked yet: something to say, nothing wrong
    assert item["IconName"] == symbolic_name(IconState.UNCHECKED)
    icon = Path(item["IconThemePath"]) / "hicolor/symbolic/apps" / f"{item['IconName']}.svg"
    assert icon.is_file(), icon
    assert [size[:2] for size in item["IconPixmap"]] == [[16, 16], [22, 22], [32, 32], [48, 48]]
    assert item["ToolTip"][2] == "Shepherd"
    assert item["ToolTip"][3].startswith("default — 17.1.0 · not checked yet")
    menu = desktop.latest()["menu"]
    for label in ("Check now", "Update now…", "Roll back to 17.0.5…", "Status…", "Quit"):
        assert label in menu, menu
    # a left click on the icon is Activate: the status window opens
    ask(qtbot, item["service"], "/StatusNotifierItem", "org.kde.StatusNotifierItem",
        "Activate", "ii", (10, 10))  # fmt: skip
    qtbot.waitUntil(
        lambda: controller.status_window is not None and controller.status_window.isVisible(),
        timeout=WAIT_MS,
    )
    # a click in the panel's menu runs the entry: Check now, acknowledged
    _revision, layout = ask(qtbot, item["service"], item["Menu"], "com.canonical.dbusmenu",
                            "GetLayout", "iias", (0, -1, []))  # fmt: skip
    ids = menu_ids(layout)
    with qtbot.waitSignal(controller.action_done, timeout=WAIT_MS) as done:
        ask(qtbot, item["service"], item["Menu"], "com.canonical.dbusmenu", "Event", "isvu",
            (ids["Check now"], "clicked", ("s", ""), 0))  # fmt: skip
    assert done.args is not None and done.args[0] == "check:default"
    qtbot.waitUntil(lambda: any(s[1] == "Checked" for s in desktop.shown()), timeout=WAIT_MS)


def test_a_failed_update_needs_attention_and_its_notification_shows_the_status(
    qtbot: QtBot, desktop: Desktop, panel_tray: Tray
) -> None:
    panel_tray.daemon.host.publish("17.2.1", Behaviour(crash_at_start=True))
    with qtbot.waitSignal(panel_tray.controller.action_done, timeout=WAIT_MS):
        panel_tray.trigger("update:default")
    # the panel is told (NewStatus), it need not poll
    told = lambda: [r for r in desktop.readings() if r.get("why") == "signal NewStatus"]  # noqa: E731
    qtbot.waitUntil(
        lambda: bool(told()) and told()[-1]["Status"] == "NeedsAttention", timeout=WAIT_MS
    )
    item = desktop.latest()
    assert item["Status"] == "NeedsAttention"
    state = panel_tray.controller.view.state
    assert state in (IconState.ERROR, IconState.ATTENTION)
    assert item["IconName"] == symbolic_name(state)
    qtbot.waitUntil(lambda: any(s[1] == "Update failed" for s in desktop.shown()), timeout=WAIT_MS)
    failed = next(s for s in desktop.shown() if s[1] == "Update failed")
    assert failed[0] == "Shepherd" and "rolled back to 17.1.0" in failed[2]
    desktop.pick("Show")  # dunst runs the menu after dunstctl returns
    qtbot.waitUntil(lambda: "#Show (Update failed)" in desktop.offered_actions(), timeout=WAIT_MS)
    window = lambda: panel_tray.controller.status_window  # noqa: E731
    qtbot.waitUntil(lambda: window() is not None and window().isVisible(), timeout=WAIT_MS)


def test_roll_back_from_the_notification_of_an_update(
    qtbot: QtBot, desktop: Desktop, panel_tray: Tray
) -> None:
    with qtbot.waitSignal(panel_tray.controller.action_done, timeout=WAIT_MS):
        panel_tray.trigger("update:default")
    qtbot.waitUntil(lambda: any(s[1] == "Agent updated" for s in desktop.shown()), timeout=WAIT_MS)
    assert desktop.latest()["Status"] == "Active"
    with qtbot.waitSignal(panel_tray.controller.action_done, timeout=WAIT_MS) as done:
        desktop.pick("Roll back")
    offered = desktop.offered_actions()
    assert "#Show (Agent updated)" in offered and "#Roll back (Agent updated)" in offered
    assert done.args is not None and done.args[0] == "rollback:default"
    assert panel_tray.prompts.asked[-1] == "Roll back"  # the reason is asked, as from the menu
    status = panel_tray.status()
    assert (status["active"], status["backup"]) == ("17.1.0", "17.2.1")
    assert "17.2.1" in status["bad"]
    qtbot.waitUntil(lambda: desktop.latest()["Status"] == "NeedsAttention", timeout=WAIT_MS)


@pytest.mark.timeout(600)
def test_the_program_with_its_panel_item_quits_cleanly_ten_times(
    desktop: Desktop, shepherd_daemon: RunningDaemon, tmp_path: Path
) -> None:
    """The real ``shepherd-tray`` (offscreen Qt, the D-Bus item and notifier live): start,
    the panel reads it, a pause and a resume change its state, quit by SIGTERM or SIGINT."""
    api = shepherd_daemon.api
    for cycle in range(10):
        before = len(desktop.readings())
        tray = start_tray_process(
            shepherd_daemon.socket, tmp_path / f"cycle{cycle % 2}", env=desktop.env, window=False
        )
        try:
            tray.wait_for_logs("registered org.kde.StatusNotifierItem-", "default — 17.1.0 · ")
            api.post("/v1/agents/default/pin")
            tray.wait_for_log("paused (pinned)")
            api.post("/v1/agents/default/unpin")
            tray.wait_for_log("· not checked yet")
            wait_until(
                lambda since=before: any(
                    r.get("IconName") == symbolic_name(IconState.PAUSED)
                    for r in desktop.readings()[since:]
                ),
                60,
                "the panel to read the paused icon",
            )
            code = tray.quit(signal.SIGTERM if cycle % 2 else signal.SIGINT)
        finally:
            tray.kill()
        output = tray.output()
        assert "Fatal Python error" not in output, output
        assert "quit (exit code 0)" in tray.log_text(), output
        assert code == 0, output


def test_xfce4_panel_hosts_the_item_and_reads_it(
    qtbot: QtBot, xfce_desktop: Desktop, shepherd_daemon: RunningDaemon
) -> None:
    """A real panel: xfce4-panel's notification area is the watcher and the host."""
    wait_until_started(shepherd_daemon)
    tray = start_tray(qtbot, shepherd_daemon, use_tray=None)
    try:
        item = tray.controller.sni
        assert item is not None and tray.controller.tray is None
        qtbot.waitUntil(lambda: item.registered and item.reads > 0, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: item.state is IconState.UNCHECKED, timeout=WAIT_MS)
        watcher = ("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher")
        properties = "org.freedesktop.DBus.Properties"
        ((_sig, items),) = ask(qtbot, *watcher, properties, "Get", "ss",
                               (watcher[0], "RegisteredStatusNotifierItems"))  # fmt: skip
        assert any(item.service in registered for registered in items), items
        ((_sig, hosted),) = ask(qtbot, *watcher, properties, "Get", "ss",
                                (watcher[0], "IsStatusNotifierHostRegistered"))  # fmt: skip
        assert hosted is True
        reads = item.reads
        tray.daemon.api.post("/v1/agents/default/pin")  # a new icon: the panel reads again
        qtbot.waitUntil(lambda: item.state is IconState.PAUSED, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: item.reads > reads, timeout=WAIT_MS)
    finally:
        tray.worker.stop()
        tray.controller.close()
