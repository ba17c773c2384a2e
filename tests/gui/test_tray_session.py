"""The tray in the user's session, against the REAL daemon: one tray per session (a second
start shows the first and exits; a dead one's socket is taken over), Start at login (the
user's XDG autostart entry), Open log, About."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from pytestqt.qtbot import QtBot

from gui.autostart import AUTOSTART_NAME
from gui.tray import TrayController
from gui.worker import ApiWorker
from tests.fixtures.daemon import RunningDaemon
from tests.gui.tray_process import start_tray_process

pytestmark = pytest.mark.integration

WAIT_MS = 60_000


def test_a_second_start_shows_the_first_and_exits(
    shepherd_daemon: RunningDaemon, tmp_path: Path
) -> None:
    first = start_tray_process(shepherd_daemon.socket, tmp_path, name="first")
    try:
        first.wait_for_log("default — 17.1.0 · ")
        second = start_tray_process(shepherd_daemon.socket, tmp_path, name="second")
        assert second.process.wait(60) == 0
        assert "already running in this session" in second.log_text()
        first.wait_for_log("a second start asked this tray to show itself")
        assert first.process.poll() is None
        first.process.kill()  # dies without cleaning up: its socket stays behind
        first.process.wait()
        third = start_tray_process(shepherd_daemon.socket, tmp_path, name="third")
        try:
            third.wait_for_log("default — 17.1.0 · ")
            assert third.quit(signal.SIGTERM) == 0
        finally:
            third.kill()
    finally:
        first.kill()


@pytest.fixture
def controller(
    qtbot: QtBot, shepherd_daemon: RunningDaemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TrayController]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    worker = ApiWorker(shepherd_daemon.socket)
    tray = TrayController(worker, use_tray=False)
    tray.log_path = tmp_path / "tray.log"
    tray.log_path.write_text("started\n")
    assert tray.window is not None
    qtbot.addWidget(tray.window)
    worker.start()
    tray.show()
    try:
        qtbot.waitUntil(lambda: tray.view.daemon_up and bool(tray.view.agents), timeout=WAIT_MS)
        tray._rebuild_menu()  # as the menu does when it opens
        yield tray
    finally:
        worker.stop()
        tray.dispose()


def test_start_at_login_writes_and_removes_the_users_autostart_entry(
    controller: TrayController, tmp_path: Path
) -> None:
    entry = tmp_path / "config" / "autostart" / AUTOSTART_NAME
    action = controller.actions["autostart"]
    assert action.isCheckable() and not action.isChecked() and not entry.exists()
    action.trigger()
    assert entry.exists() and "Exec=shepherd-tray" in entry.read_text()
    controller._rebuild_menu()
    assert controller.actions["autostart"].isChecked()
    controller.actions["autostart"].trigger()
    assert not entry.exists()
    controller._rebuild_menu()
    assert not controller.actions["autostart"].isChecked()


class Opened(QObject):
    """The desktop's file opener cannot run here: Qt hands file URLs to this instead."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_open_log_opens_the_trays_log_file(controller: TrayController) -> None:
    opened = Opened()
    QDesktopServices.setUrlHandler("file", opened, "open")
    try:
        controller.actions["log"].trigger()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [url.toLocalFile() for url in opened.urls] == [str(controller.log_path)]


def test_about_names_the_tray_the_daemon_and_the_log(controller: TrayController) -> None:
    text = controller.session.about()
    assert "Agent Shepherd keeps this host's Teleport agents" in text
    assert "\nTray " in text and "Daemon" in text and "not reachable" not in text
    assert f"Log: {controller.log_path}" in text
    assert controller.actions["about"].isEnabled()
