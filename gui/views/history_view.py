"""The history window: ``GET /v1/history`` (or one agent's) as a table, newest first, in
words (gui.history_model): when, relative and local; what happened; who asked, by name.
Filter per agent, export to CSV or JSON lines, Esc / Ctrl+W close it."""

from __future__ import annotations

import pwd
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.api.client import ApiClient, agent_path
from gui.history_model import HistoryRow, export_csv, export_json, history_rows
from gui.worker import ApiWorker

__all__ = ["COLUMNS", "HistoryView"]

COLUMNS = ("When", "Agent", "What", "Result", "Versions", "Details", "By")
_DETAILS = COLUMNS.index("Details")
_ALL = "All agents"
_LIMIT = 500
_TONES = {"good": QColor("#2e7d32"), "bad": QColor("#c62828")}


@dataclass
class _Loaded:
    records: list[dict[str, Any]]
    agents: list[str]


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class HistoryView(QWidget):
    loaded = Signal()
    load_failed = Signal(str)

    def __init__(self, worker: ApiWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Shepherd — history")
        self.resize(1040, 560)
        self._worker = worker
        self._rows: list[HistoryRow] = []
        self.agent_filter = QComboBox()
        self.agent_filter.addItem(_ALL)
        self.agent_filter.currentTextChanged.connect(lambda _text: self.reload())
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self._ask_export)
        reload_button = QPushButton("Reload")
        reload_button.clicked.connect(self.reload)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show:"))
        bar.addWidget(self.agent_filter)
        bar.addStretch(1)
        bar.addWidget(self.export_button)
        bar.addWidget(reload_button)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(_DETAILS, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.status = QLabel("loading…")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        closing = [QKeySequence(Qt.Key.Key_Escape), QKeySequence("Ctrl+W")]
        closing += QKeySequence.keyBindings(QKeySequence.StandardKey.Close)  # the desktop's
        for text in dict.fromkeys(keys.toString() for keys in closing if not keys.isEmpty()):
            QShortcut(QKeySequence(text), self, self.close)

    def showEvent(self, event: QShowEvent) -> None:
        screen = self.screen().availableGeometry()
        if self.width() > screen.width() or self.height() > screen.height():
            self.resize(min(self.width(), screen.width()), min(self.height(), screen.height()))
        super().showEvent(event)

    # ---- loading ------------------------------------------------------------------------
    def reload(self) -> None:
        self.status.setText("loading…")
        agent = self.agent_filter.currentText()
        self._worker.call(
            lambda api: _fetch(api, None if agent == _ALL else agent), self._show, self._failed
        )

    def _show(self, loaded: _Loaded) -> None:
        self._set_agents(loaded.agents)
        self._rows = history_rows(loaded.records, now=datetime.now(UTC), names=user_name)
        self.table.setRowCount(len(self._rows))
        for index, row in enumerate(self._rows):
            cells = (row.when, row.agent, row.kind, row.result, row.versions, row.message, row.by)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(row.when_full if column == 0 else text)
                if column == COLUMNS.index("Result") and row.tone in _TONES:
                    item.setForeground(_TONES[row.tone])
                self.table.setItem(index, column, item)
        shown = self.agent_filter.currentText()
        where = "" if shown == _ALL else f" for {shown}"
        self.status.setText(f"{len(self._rows)} events{where}, newest first; times are local")
        self.loaded.emit()

    def _set_agents(self, agents: list[str]) -> None:
        current = self.agent_filter.currentText()
        wanted = [_ALL, *agents]
        if [self.agent_filter.itemText(i) for i in range(self.agent_filter.count())] == wanted:
            return
        self.agent_filter.blockSignals(True)
        self.agent_filter.clear()
        self.agent_filter.addItems(wanted)
        self.agent_filter.setCurrentText(current if current in wanted else _ALL)
        self.agent_filter.blockSignals(False)

    def _failed(self, error: Exception) -> None:
        self.status.setText(f"could not load the history: {error}")
        self.load_failed.emit(str(error))

    # ---- reading and exporting ----------------------------------------------------------
    def rows(self) -> list[dict[str, str]]:
        """The table's text, column name -> cell (for tests and copy/paste)."""
        return [
            {
                name: (item.text() if (item := self.table.item(r, c)) else "")
                for c, name in enumerate(COLUMNS)
            }
            for r in range(self.table.rowCount())
        ]

    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export history",
            str(Path.home() / "shepherd-history.csv"),
            "CSV (*.csv);;JSON lines (*.jsonl)",
        )
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        """Write the rows shown: JSON lines for ``.jsonl`` / ``.json``, CSV otherwise."""
        text = (
            export_json(self._rows)
            if path.suffix in {".jsonl", ".json"}
            else export_csv(self._rows)
        )
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as e:
            self.status.setText(f"not exported: {e}")
            return
        self.status.setText(f"exported {len(self._rows)} events to {path}")


def _fetch(api: ApiClient, agent: str | None) -> _Loaded:
    path = "/v1/history" if agent is None else agent_path(agent, "history")
    records: list[dict[str, Any]] = api.get(path, {"limit": _LIMIT})["records"]
    agents = sorted(str(a["agent"]) for a in api.get("/v1/agents")["agents"])
    return _Loaded(records, agents)
