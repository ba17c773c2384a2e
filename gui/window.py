"""The status window (left-click on the icon, "Status…" in the menu, and the window shown
when the desktop has no system tray): a card per agent with the action that fits, and the
week strip of maintenance windows in the desktop's time zone."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from gui.icons import state_icon
from gui.status_model import Card, WeekStrip, card_for
from gui.viewmodel import TrayView
from gui.views.week_strip import WeekStripView

__all__ = ["StatusWindow"]


class StatusWindow(QMainWindow):
    action_requested = Signal(str, str)  # (kind, agent): check, update, pause, allow, rollback
    shown = Signal()

    def __init__(self, menu: QMenu | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Shepherd")
        self.resize(640, 520)
        self.summary = QLabel("connecting to the Shepherd daemon…")
        self.summary.setWordWrap(True)
        self.cards_box = QVBoxLayout()
        self.cards_box.addStretch(1)
        holder = QWidget()
        holder.setLayout(self.cards_box)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        self.strip = WeekStripView()
        self.strip_title = QLabel("Maintenance windows, this week")
        self.next_update = QLabel("")
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.summary)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.strip_title)
        layout.addWidget(self.strip)
        layout.addWidget(self.next_update)
        layout.addWidget(self.notes)
        self.actions_button: QPushButton | None = None
        if menu is not None:
            self.actions_button = QPushButton("Actions")
            self.actions_button.setMenu(menu)
            layout.addWidget(self.actions_button)
        self.setCentralWidget(central)
        self.cards: dict[str, QGroupBox] = {}
        self.buttons: dict[str, QPushButton] = {}  # "kind:agent"
        self._shown_cards: tuple[Card, ...] = ()
        if menu is None:  # beside a tray icon: Esc / Ctrl+W close it (else they would quit)
            for keys in (QKeySequence(QKeySequence.StandardKey.Close), QKeySequence("Esc")):
                QShortcut(keys, self, self.close)

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        self.shown.emit()

    def show_view(self, view: TrayView) -> None:
        self.setWindowIcon(state_icon(view.state))
        if not view.daemon_up or not view.agents:
            self.summary.setText(view.tooltip)
        else:
            count = len(view.agents)
            words = view.tooltip.split("\n", 2)[1] if count == 1 else f"{count} agents"
            self.summary.setText(f"Shepherd: {words}")
        self.summary.setToolTip(view.tooltip)
        cards = tuple(card_for(a) for a in view.agents)
        if cards != self._shown_cards:
            self._show_cards(cards)

    def _show_cards(self, cards: tuple[Card, ...]) -> None:
        self._shown_cards = cards
        for box in self.cards.values():
            self.cards_box.removeWidget(box)
            box.deleteLater()
        self.cards.clear()
        self.buttons.clear()
        for card in cards:
            box = QGroupBox(card.title)
            lines = QVBoxLayout(box)
            for text in card.lines:
                label = QLabel(text)
                label.setWordWrap(True)
                label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                lines.addWidget(label)
            row = QHBoxLayout()
            for kind, text in card.actions:
                button = QPushButton(text)
                button.clicked.connect(
                    lambda _=False, k=kind, a=card.agent: self.action_requested.emit(k, a)
                )
                self.buttons[f"{kind}:{card.agent}"] = button
                row.addWidget(button)
            row.addStretch(1)
            lines.addLayout(row)
            self.cards_box.insertWidget(self.cards_box.count() - 1, box)
            self.cards[card.agent] = box

    def card_text(self, agent: str) -> str:
        """Everything a card says, its title first (for tests and screen readers)."""
        box = self.cards[agent]
        texts = [box.title()] + [label.text() for label in box.findChildren(QLabel)]
        return "\n".join(texts)

    def show_schedule(self, strip: WeekStrip) -> None:
        self.strip_title.setText(
            f"Maintenance windows, this week (times in {strip.zone}, this desktop's zone)"
        )
        self.strip.show_strip(strip)
        self.next_update.setText(strip.next_text)
        self.notes.setText("\n".join(strip.notes))

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text)
