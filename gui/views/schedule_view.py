"""The schedule window: each agent's next cluster check (with the decision's why/when) and
its next local maintenance windows and blackouts, in the desktop's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtWidgets import QWidget

from engine.api.client import ApiClient
from gui.schedule_model import ScheduleRow, schedule_rows
from gui.views.table_view import TableView
from gui.worker import ApiWorker

__all__ = ["ScheduleView"]

COLUMNS = ("Agent", "Kind", "When (local time)", "Detail")


class ScheduleView(TableView):
    def __init__(self, worker: ApiWorker, parent: QWidget | None = None) -> None:
        super().__init__(
            worker,
            title="Shepherd — schedule",
            size=(820, 360),
            columns=COLUMNS,
            stretch_column=len(COLUMNS) - 1,
            what="schedule",
            fetch=_fetch,
            parent=parent,
        )

    def fill(self, data: Any) -> str:
        rows: list[ScheduleRow] = data
        self.set_rows([(r.agent, r.kind, r.when_text(), r.detail) for r in rows])
        return "times in this desktop's time zone"

    def rows(self) -> list[tuple[str, ...]]:
        return self.cell_texts()


def _fetch(api: ApiClient) -> list[ScheduleRow]:
    settings: dict[str, Any] = api.get("/v1/settings")
    agents: list[dict[str, Any]] = api.get("/v1/agents")["agents"]
    return schedule_rows(settings, agents, datetime.now(UTC))
