"""The editor of a maintenance-windows (or blackouts) field: one row per window, with
the days to tick, the start time, the length and the time zone; OK writes the field's
text (gui.windows_model), which the settings dialog then saves like any other."""

from __future__ import annotations

from zoneinfo import available_timezones

from PySide6.QtCore import QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from gui.windows_model import DAYS, WindowRow, parse_windows, windows_text

__all__ = ["WindowRowEditor", "WindowsEditor"]

_DEFAULT_ZONE = "(daemon's default: UTC)"


class WindowRowEditor(QWidget):
    def __init__(self, row: WindowRow, zones: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.days = {day: QCheckBox(day.capitalize()) for day in DAYS}
        for day, box in self.days.items():
            box.setChecked(day in row.days)
        self.start = QTimeEdit(QTime.fromString(row.start, "HH:mm") or QTime(0, 0))
        self.start.setDisplayFormat("HH:mm")
        self.duration = QLineEdit(row.duration)
        self.duration.setPlaceholderText("2h, 90m, 1h30m")
        self.duration.setMaximumWidth(90)
        self.zone = QComboBox()
        self.zone.setEditable(True)
        self.zone.addItems([_DEFAULT_ZONE, *zones])
        self.zone.setCurrentText(row.timezone or _DEFAULT_ZONE)
        self.remove = QPushButton("Remove")
        line = QHBoxLayout(self)
        line.setContentsMargins(0, 0, 0, 0)
        for box in self.days.values():
            line.addWidget(box)
        for label, widget in (("from", self.start), ("for", self.duration), ("in", self.zone)):
            line.addWidget(QLabel(label))
            line.addWidget(widget)
        line.addWidget(self.remove)

    def row(self) -> WindowRow:
        zone = self.zone.currentText().strip()
        return WindowRow(
            days=tuple(day for day, box in self.days.items() if box.isChecked()),
            start=self.start.time().toString("HH:mm"),
            duration=self.duration.text().strip() or "1h",
            timezone=None if zone in {"", _DEFAULT_ZONE} else zone,
        )


class WindowsEditor(QDialog):
    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Shepherd — {title}")
        self._zones = sorted(available_timezones())
        self.rows: list[WindowRowEditor] = []
        self._rows_layout = QVBoxLayout()
        add = QPushButton("Add a window")
        add.clicked.connect(lambda: self.add_row(WindowRow(DAYS[:5], "02:00", "2h", None)))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Updates may start only inside these windows (blackouts: never)."))
        layout.addLayout(self._rows_layout)
        layout.addWidget(add)
        layout.addWidget(buttons)
        for row in parse_windows(text):
            self.add_row(row)

    def add_row(self, row: WindowRow) -> WindowRowEditor:
        editor = WindowRowEditor(row, self._zones)
        editor.remove.clicked.connect(lambda: self._remove(editor))
        self._rows_layout.addWidget(editor)
        self.rows.append(editor)
        return editor

    def _remove(self, editor: WindowRowEditor) -> None:
        self.rows.remove(editor)
        self._rows_layout.removeWidget(editor)
        editor.deleteLater()

    def text(self) -> str:
        """The field's text for the rows as they are now ("" for none)."""
        return windows_text([editor.row() for editor in self.rows])
