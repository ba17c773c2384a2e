"""The worker without a daemon: it says so, keeps trying, and stops cleanly."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from engine.api.client import DaemonUnavailable
from gui.tray import TrayController
from gui.viewmodel import IconState
from gui.worker import ApiWorker


def tray_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("shepherd-tray")]


def test_no_daemon_shows_daemon_down_and_stop_joins_every_thread(
    qtbot: QtBot, tmp_path: Path
) -> None:
    worker = ApiWorker(tmp_path / "absent.sock", retry_seconds=0.1, max_retry_seconds=0.4)
    controller = TrayController(worker, use_tray=False)
    assert controller.window is not None
    qtbot.addWidget(controller.window)
    errors: list[Exception] = []
    try:
        with qtbot.waitSignal(worker.daemon_down, timeout=10_000) as down:
            worker.start()
        assert down.args is not None and "not running" in down.args[0]
        qtbot.waitUntil(lambda: "daemon is not answering" in controller.window.summary.text())
        assert controller.view.state is IconState.DAEMON_DOWN
        assert set(controller.actions) == {
            "status",
            "history",
            "schedule",
            "settings",
            "autostart",
            "log",
            "about",
            "quit",
        }
        with qtbot.waitSignal(worker.daemon_down, timeout=10_000):
            worker.call(lambda api: api.get("/v1"), lambda _: None, errors.append)
        qtbot.waitUntil(lambda: bool(errors))
        assert isinstance(errors[0], DaemonUnavailable)
    finally:
        worker.stop()
        controller.close()
    assert tray_threads() == []
    results: list[object] = []
    worker.call(lambda api: api.get("/v1"), results.append, results.append)
    assert results == []  # a stopped worker runs nothing


def test_without_a_daemon_the_retries_back_off_up_to_the_cap(qtbot: QtBot, tmp_path: Path) -> None:
    worker = ApiWorker(tmp_path / "absent.sock", retry_seconds=0.05, max_retry_seconds=0.4)
    seen: list[float] = []
    # noted in the worker's thread as it reports (a queued delivery to this thread could be
    # late for one report and so make the next gap look shorter than the worker waited)
    worker.daemon_down.connect(
        lambda _message: seen.append(time.monotonic()), Qt.ConnectionType.DirectConnection
    )
    try:
        worker.start()
        qtbot.waitUntil(lambda: len(seen) >= 6, timeout=30_000)
    finally:
        worker.stop()
    gaps = [later - earlier for earlier, later in itertools.pairwise(seen)]
    # each wait is at least the one before it doubled, until the cap (lower bounds only: a
    # loaded machine makes gaps longer, never shorter)
    for index, floor in enumerate((0.05, 0.1, 0.2, 0.4, 0.4)):
        assert gaps[index] >= floor * 0.9, (index, gaps)
    assert worker.status_reads == 0  # nothing was polled while the daemon was away
