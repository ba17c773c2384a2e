"""The history window: ``GET /v1/history`` as a table, newest first."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.api.client import ApiClient
from gui.worker import ApiWorker

__all__ = ["HistoryView"]

COLUMNS = ("Time", "Agent", "Event", "Outcome", "From", "To", "Reason", "Message", "By uid")
_KEYS = (
    "time",
    "agent",
    "event",
    "outcome",
    "from_revision",
    "to_revision",
    "reason",
    "message",
    "uid",
)


class HistoryView(QWidget):
    loaded = Signal()
    load_failed = Signal(str)

    def __init__(self, worker: ApiWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Shepherd — history")
        self.resize(900, 420)
        self._worker = worker
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(
            len(COLUMNS) - 2, QHeaderView.ResizeMode.Stretch
        )
        self.status = QLabel("loading…")
        reload_button = QPushButton("Reload")
        reload_button.clicked.connect(self.reload)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        layout.addWidget(reload_button)

    def reload(self) -> None:
        self.status.setText("loading…")
        self._worker.call(_fetch, self._show, self._failed)

    def _show(self, records: list[dict[str, Any]]) -> None:
        self.table.setRowCount(len(records))
        for row, record in enumerate(records):
            for column, key in enumerate(_KEYS):
                value = record.get(key)
                self.table.setItem(
                    row, column, QTableWidgetItem("" if value is None else str(value))
                )
        self.status.setText(f"{len(records)} records")
        self.loaded.emit()

    def _failed(self, error: Exception) -> None:
        self.status.setText(f"could not load the history: {error}")
        self.load_failed.emit(str(error))

    def rows(self) -> list[dict[str, str]]:
        """The table's text, column name -> cell (for tests and copy/paste)."""
        return [
            {
                COLUMNS[c]: (item.text() if (item := self.table.item(r, c)) else "")
                for c in range(len(COLUMNS))
            }
            for r in range(self.table.rowCount())
        ]


def _fetch(api: ApiClient) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = api.get("/v1/history", {"limit": 200})["records"]
    return records
