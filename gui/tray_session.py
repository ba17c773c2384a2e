"""The tray's items about itself, beside what it shows of the agents: Start at login (the
user's autostart entry), Open log, About, and showing itself when a second start asks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox, QSystemTrayIcon, QWidget

from gui.about import about_text
from gui.autostart import autostart_enabled, set_autostart
from gui.viewmodel import Notice, TrayView

__all__ = ["SessionHost", "TraySession"]


class SessionHost(Protocol):
    """What of the tray controller these items use."""

    @property
    def window(self) -> QMainWindow | None: ...
    @property
    def tray(self) -> QSystemTrayIcon | None: ...
    @property
    def log_path(self) -> Path | None: ...
    @property
    def view(self) -> TrayView: ...
    @property
    def hello(self) -> dict[str, Any]: ...
    @property
    def actions(self) -> dict[str, QAction]: ...

    def _add(
        self,
        menu: QMenu,
        key: str,
        text: str,
        slot: Callable[[], object] | None,
        enabled: bool = True,
    ) -> QAction: ...

    def _notify(self, notice: Notice) -> None: ...

    def _parent_widget(self) -> QWidget | None: ...


_log = logging.getLogger("shepherd.tray")


class TraySession:
    def __init__(self, controller: SessionHost) -> None:
        self._tray = controller

    def add_items(self, menu: QMenu) -> None:
        tray = self._tray
        login = tray._add(menu, "autostart", "Start at login", self.toggle_autostart)
        login.setCheckable(True)
        login.setChecked(autostart_enabled())
        tray._add(menu, "log", "Open log", self.open_log, tray.log_path is not None)
        tray._add(menu, "about", "About Shepherd…", self.show_about)

    def present(self) -> None:
        """Another start asked for this tray: show the window, or say where the icon is."""
        _log.info("a second start asked this tray to show itself")
        window, icon = self._tray.window, self._tray.tray
        if window is not None:
            window.show()
            window.raise_()
            window.activateWindow()
        elif icon is not None:
            icon.showMessage("Shepherd is running", "Its icon is here in the panel.")
        else:  # a StatusNotifierItem: say so through the desktop's notifications
            self._tray._notify(Notice("Shepherd is running", "Its icon is in the panel.", "info"))

    def toggle_autostart(self) -> None:
        wanted = not autostart_enabled()
        try:
            path = set_autostart(wanted)
        except OSError as e:
            self._tray._notify(Notice("Start at login not changed", str(e), "error"))
            return
        _log.info("start at login %s (%s)", "on" if wanted else "off", path)
        self._tray.actions["autostart"].setChecked(wanted)

    def open_log(self) -> None:
        if self._tray.log_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._tray.log_path)))

    def about(self) -> str:
        """The About box's text (the daemon's part from its last ``GET /v1``)."""
        tray = self._tray
        hello = tray.hello if tray.view.daemon_up else None
        return about_text(hello.get("shepherd") if hello else None, tray.log_path)

    def show_about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About Shepherd", self.about())
        box.setParent(self._tray._parent_widget(), box.windowFlags())
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
