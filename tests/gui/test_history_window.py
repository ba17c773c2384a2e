"""The history window against a REAL daemon with two agents: what happened in words (a
pause and a resume told apart), relative local times, user names, a filter per agent,
export, Esc / Ctrl+W, and every column readable at the default size."""

from __future__ import annotations

import csv
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from gui.views.history_view import COLUMNS, HistoryView
from gui.worker import ApiWorker
from sandbox.emulator import ClusterEmulator
from tests.fixtures.daemon import RunningDaemon, start_daemon
from tests.fixtures.sandboxhost import SandboxHost

pytestmark = pytest.mark.integration

WAIT_MS = 60_000


@pytest.fixture
def two_agents(sandbox_host: SandboxHost, cluster: ClusterEmulator) -> Iterator[RunningDaemon]:
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.add_agent("staging", proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    daemon = start_daemon(sandbox_host, cluster)
    try:
        yield daemon
    finally:
        daemon.stop(signal.SIGTERM)


@pytest.fixture
def history(qtbot: QtBot, two_agents: RunningDaemon) -> Iterator[HistoryView]:
    api = two_agents.api
    assert api.post("/v1/agents/default/update", {"now": True})["outcome"]["ok"] is True
    api.post("/v1/agents/staging/pin")
    api.post("/v1/agents/staging/unpin")
    worker = ApiWorker(two_agents.socket)
    view = HistoryView(worker)
    qtbot.addWidget(view)
    view.show()
    try:
        with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
            view.reload()
        yield view
    finally:
        worker.stop()


def test_events_are_told_apart_in_words_with_local_relative_times_and_user_names(
    history: HistoryView,
) -> None:
    rows = history.rows()
    staging = [r["What"] for r in rows if r["Agent"] == "staging"]
    assert staging[:2] == ["Resumed (unpinned)", "Paused (pinned)"]  # newest first
    update = next(r for r in rows if r["Agent"] == "default" and r["What"] == "Update")
    assert (update["Result"], update["Versions"], update["By"]) == (
        "succeeded",
        "17.1.0 → 17.2.1",
        "root",
    )
    assert all(r["When"] == "just now" or r["When"].endswith("min ago") for r in rows[:3])
    assert "T" not in update["When"] and "+00:00" not in update["When"]
    tooltip = history.table.item(0, 0).toolTip()
    assert tooltip[:4].isdigit() and ":" in tooltip  # the full local time on hover
    assert "uid" not in " ".join(r["By"] for r in rows)


def test_the_filter_shows_one_agent(qtbot: QtBot, history: HistoryView) -> None:
    assert [history.agent_filter.itemText(i) for i in range(3)] == [
        "All agents",
        "default",
        "staging",
    ]
    with qtbot.waitSignal(history.loaded, timeout=WAIT_MS):
        history.agent_filter.setCurrentText("staging")
    rows = history.rows()
    assert rows and {r["Agent"] for r in rows} == {"staging"}
    assert "for staging" in history.status.text()


def test_export_writes_what_is_shown_as_csv_or_json_lines(
    history: HistoryView, tmp_path: Path
) -> None:
    history.export_to(tmp_path / "history.csv")
    with (tmp_path / "history.csv").open() as table:
        exported = list(csv.DictReader(table))
    assert len(exported) == len(history.rows())
    assert exported[0]["kind"] == history.rows()[0]["What"]
    assert exported[0]["time"].endswith("+00:00")  # the daemon's own UTC time, for tools
    history.export_to(tmp_path / "history.jsonl")
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["by"] for line in lines] == [r["By"] for r in history.rows()]
    assert "exported" in history.status.text()


def activate(qtbot: QtBot, view: HistoryView) -> None:
    view.show()
    view.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is view, timeout=WAIT_MS)


def test_escape_and_ctrl_w_close_it(qtbot: QtBot, history: HistoryView) -> None:
    activate(qtbot, history)
    qtbot.keyClick(history.table, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not history.isVisible(), timeout=WAIT_MS)
    activate(qtbot, history)
    qtbot.keyClick(history.table, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not history.isVisible(), timeout=WAIT_MS)


def test_every_column_is_readable_at_the_default_size(qtbot: QtBot, history: HistoryView) -> None:
    table = history.table
    metrics = table.fontMetrics()
    screen = QApplication.primaryScreen().availableGeometry()
    assert history.width() <= screen.width() and history.height() <= screen.height()
    for column, name in enumerate(COLUMNS):
        if name == "Details":
            assert table.columnWidth(column) >= 300
            continue
        for row in range(table.rowCount()):
            text = table.item(row, column).text()
            assert metrics.horizontalAdvance(text) <= table.columnWidth(column), (name, text)
    total = sum(table.columnWidth(c) for c in range(len(COLUMNS)))
    assert total <= table.viewport().width() + 1  # no horizontal scrolling needed
