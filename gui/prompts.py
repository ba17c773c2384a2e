"""The questions the tray asks before it changes something. One small class so tests (and
a future non-interactive mode) can answer them without a modal dialog."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox, QWidget

__all__ = ["Prompts"]


class Prompts:
    """Modal questions; each returns None/False when the admin cancels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent

    def confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(
            self.parent,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def rollback_reason(self, title: str, text: str) -> str | None:
        """Confirmation and reason in one: None when cancelled or left empty."""
        reason, ok = QInputDialog.getText(
            self.parent, title, text, QLineEdit.EchoMode.Normal, "rolled back by hand"
        )
        return (reason.strip() or None) if ok else None
