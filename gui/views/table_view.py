"""A read-only table window filled off the GUI thread: the history and schedule views."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

__all__ = ["TableView"]


class TableView(QWidget):
    """Columns, a status line and Reload; ``fetch`` runs in the worker, ``fill`` gets its
    result in the GUI thread and returns the status line."""

    loaded = Signal()
    load_failed = Signal(str)

    def __init__(
        self,
        worker: ApiWorker,
        *,
        title: str,
        size: tuple[int, int],
        columns: Sequence[str],
        stretch_column: int,
        what: str,
        fetch: Callable[[ApiClient], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(*size)
        self._worker = worker
        self._columns = tuple(columns)
        self._what = what
        self._fetch = fetch
        self.table = QTableWidget(0, len(self._columns))
        self.table.setHorizontalHeaderLabels(self._columns)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(
            stretch_column, QHeaderView.ResizeMode.Stretch
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
        self._worker.call(self._fetch, self._show, self._failed)

    def fill(self, data: Any) -> str:
        raise NotImplementedError

    def set_rows(self, rows: Sequence[Sequence[str]]) -> None:
        self.table.setRowCount(len(rows))
        for index, cells in enumerate(rows):
            for column, text in enumerate(cells):
                self.table.setItem(index, column, QTableWidgetItem(text))

    def cell_texts(self) -> list[tuple[str, ...]]:
        return [
            tuple(
                (item.text() if (item := self.table.item(r, c)) else "")
                for c in range(len(self._columns))
            )
            for r in range(self.table.rowCount())
        ]

    def _show(self, data: Any) -> None:
        self.status.setText(self.fill(data))
        self.loaded.emit()

    def _failed(self, error: Exception) -> None:
        self.status.setText(f"could not load the {self._what}: {error}")
        self.load_failed.emit(str(error))
