"""The questions the tray asks before it changes something. One small class so tests (and
a future non-interactive mode) can answer them without a modal dialog."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from gui.feedback import UpdateChoice, UpdateOffer

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMessageBox, QWidget

# The dialogs' classes are imported when a question is asked: an idle tray asks none, and
# importing them costs it ~0.6 MB resident.

__all__ = ["Prompts", "update_message_box"]


class Prompts:
    """Modal questions; each returns None/False when the admin cancels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent

    def confirm(self, title: str, text: str) -> bool:
        from PySide6.QtWidgets import QMessageBox  # noqa: PLC0415

        answer = QMessageBox.question(
            self.parent,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def rollback_reason(self, title: str, text: str, *, ok_text: str = "Roll back") -> str | None:
        """Confirmation and reason in one: None when cancelled or left empty. The button
        that confirms says what it does (``ok_text``)."""
        from PySide6.QtWidgets import QInputDialog, QLineEdit  # noqa: PLC0415

        dialog = QInputDialog(self.parent)
        dialog.setWindowTitle(title)
        dialog.setLabelText(text)
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setTextValue("rolled back by hand")
        dialog.setOkButtonText(ok_text)
        if dialog.exec() != QInputDialog.DialogCode.Accepted:
            return None
        return dialog.textValue().strip() or None

    def update_choice(self, offer: UpdateOffer) -> UpdateChoice | None:
        """The update prompt: Install now, At the next window, Skip this version."""
        box, buttons = update_message_box(offer, self.parent)
        box.exec()
        clicked = box.clickedButton()
        return next((choice for choice, b in buttons.items() if b is clicked), None)


def update_message_box(
    offer: UpdateOffer, parent: QWidget | None = None
) -> tuple[QMessageBox, dict[UpdateChoice, object]]:
    """The update prompt's box and its buttons by choice (built apart so tests see it)."""
    from PySide6.QtWidgets import QMessageBox  # noqa: PLC0415

    box = QMessageBox(parent)
    box.setWindowTitle(offer.title)
    box.setIcon(QMessageBox.Icon.Question)
    box.setTextFormat(Qt.TextFormat.RichText)
    version = escape(offer.version) if offer.version else "the cluster's current target"
    lines = [
        f"<b>{escape(offer.agent)}</b> can be updated from {escape(offer.current)} to "
        f"<b>{version}</b>.",
        escape(offer.when_text),
        "Installing now skips the maintenance window; the new version is health-checked "
        "and rolled back if it does not come up.",
    ]
    if offer.notes_url:
        lines.append(f'<a href="{escape(offer.notes_url)}">Release notes for {version}</a>')
    box.setText("<br><br>".join(lines))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    now = box.addButton("Install now", QMessageBox.ButtonRole.AcceptRole)
    later = box.addButton("At the next window", QMessageBox.ButtonRole.RejectRole)
    buttons: dict[UpdateChoice, object] = {UpdateChoice.NOW: now, UpdateChoice.AT_WINDOW: later}
    if offer.version is not None:
        skip = box.addButton("Skip this version", QMessageBox.ButtonRole.DestructiveRole)
        buttons[UpdateChoice.SKIP] = skip
    box.setDefaultButton(later)
    box.setEscapeButton(later)
    return box, buttons


def escape(text: str) -> str:
    """``text`` for Qt's rich text (``html.escape``'s module would cost ~0.7 MB resident)."""
    for plain, entity in (
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ('"', "&quot;"),
        ("'", "&#x27;"),
    ):
        text = text.replace(plain, entity)
    return text
