"""The window shown when the desktop has no system tray (and under offscreen Qt): the same
state, tooltip and menu as the tray icon, in a small main window."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QMainWindow,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.icons import state_icon
from gui.viewmodel import TrayView

__all__ = ["StatusWindow"]


class StatusWindow(QMainWindow):
    def __init__(self, menu: QMenu) -> None:
        super().__init__()
        self.setWindowTitle("Shepherd")
        self.resize(520, 300)
        self.summary = QLabel("connecting to the Shepherd daemon…")
        self.summary.setWordWrap(True)
        self.agents = QListWidget()
        self.actions_button = QPushButton("Actions")
        self.actions_button.setMenu(menu)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.summary)
        layout.addWidget(self.agents)
        layout.addWidget(self.actions_button)
        self.setCentralWidget(central)

    def show_view(self, view: TrayView) -> None:
        self.setWindowIcon(state_icon(view.state))
        self.summary.setText(view.tooltip.split("\n", 1)[-1] if view.agents else view.tooltip)
        self.summary.setToolTip(view.tooltip)
        self.agents.clear()
        for agent in view.agents:
            self.agents.addItem(f"{agent.headline}\n    {agent.progress_text or agent.why}")

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text)
