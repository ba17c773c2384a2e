"""The history window: ``GET /v1/history`` as a table, newest first."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from engine.api.client import ApiClient
from gui.views.table_view import TableView
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


class HistoryView(TableView):
    def __init__(self, worker: ApiWorker, parent: QWidget | None = None) -> None:
        super().__init__(
            worker,
            title="Shepherd — history",
            size=(900, 420),
            columns=COLUMNS,
            stretch_column=len(COLUMNS) - 2,
            what="history",
            fetch=_fetch,
            parent=parent,
        )

    def fill(self, data: Any) -> str:
        records: list[dict[str, Any]] = data
        self.set_rows(
            [
                ["" if (value := record.get(key)) is None else str(value) for key in _KEYS]
                for record in records
            ]
        )
        return f"{len(records)} records"

    def rows(self) -> list[dict[str, str]]:
        """The table's text, column name -> cell (for tests and copy/paste)."""
        return [dict(zip(COLUMNS, cells, strict=True)) for cells in self.cell_texts()]


def _fetch(api: ApiClient) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = api.get("/v1/history", {"limit": 200})["records"]
    return records
