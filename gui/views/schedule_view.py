"""The schedule window: each agent's next cluster check (with the decision's why/when) and
its next local maintenance windows and blackouts, in the desktop's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
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
from gui.schedule_model import ScheduleRow, schedule_rows
from gui.worker import ApiWorker

__all__ = ["ScheduleView"]

COLUMNS = ("Agent", "Kind", "When (local time)", "Detail")


class ScheduleView(QWidget):
    loaded = Signal()
    load_failed = Signal(str)

    def __init__(self, worker: ApiWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Shepherd — schedule")
        self.resize(820, 360)
        self._worker = worker
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(
            len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch
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

    def _show(self, rows: list[ScheduleRow]) -> None:
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            cells = (row.agent, row.kind, row.when_text(), row.detail)
            for column, text in enumerate(cells):
                self.table.setItem(index, column, QTableWidgetItem(text))
        self.status.setText("times in this desktop's time zone")
        self.loaded.emit()

    def _failed(self, error: Exception) -> None:
        self.status.setText(f"could not load the schedule: {error}")
        self.load_failed.emit(str(error))

    def rows(self) -> list[tuple[str, ...]]:
        return [
            tuple(
                (item.text() if (item := self.table.item(r, c)) else "")
                for c in range(len(COLUMNS))
            )
            for r in range(self.table.rowCount())
        ]


def _fetch(api: ApiClient) -> list[ScheduleRow]:
    settings: dict[str, Any] = api.get("/v1/settings")
    agents: list[dict[str, Any]] = api.get("/v1/agents")["agents"]
    return schedule_rows(settings, agents, datetime.now(UTC))
