"""The tray's windows: the status window (beside a tray icon), history and settings. Each is
built, and its module imported, when it is first opened, and deleted when it is closed: an
idle tray holds no window it does not show. A part of ``TrayController``, which supplies
the worker, the view and the status window's wiring."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from gui.viewmodel import TrayView
from gui.worker import ApiWorker

if TYPE_CHECKING:
    from gui.views.history_view import HistoryView
    from gui.views.settings_dialog import SettingsDialog
    from gui.window import StatusWindow

__all__ = ["TrayWindows"]

W = TypeVar("W", bound=QWidget)


class TrayWindows:
    """The window half of the tray controller."""

    worker: ApiWorker
    view: TrayView
    window: StatusWindow | None  # the fallback window: the app itself, never dropped
    status_window: StatusWindow | None
    history: HistoryView | None
    settings: SettingsDialog | None
    _made: dict[str, int]  # windows built so far, per attribute

    def _wire_status(self, window: StatusWindow) -> None:
        raise NotImplementedError

    def _show_schedule(self) -> None:
        raise NotImplementedError

    def open_status(self) -> None:
        """The status window: the fallback window itself, or one beside the tray icon."""
        window = self.window
        if window is None:
            window = self._open("status_window", self._new_status_window)
        window.show()
        window.raise_()
        window.activateWindow()
        self._show_schedule()

    def open_history(self) -> None:
        from gui.views.history_view import HistoryView  # noqa: PLC0415 - on first open

        history = self._open("history", lambda: HistoryView(self.worker))
        history.show()
        history.raise_()
        history.reload()

    def open_settings(self) -> None:
        from gui.views.settings_dialog import SettingsDialog  # noqa: PLC0415 - on first open

        settings = self._open(
            "settings", lambda: SettingsDialog(self.worker, self._parent_widget())
        )
        settings.show()
        settings.raise_()
        settings.reload()

    def _parent_widget(self) -> QWidget | None:
        return self.window

    def _new_status_window(self) -> StatusWindow:
        from gui.window import StatusWindow  # noqa: PLC0415 - on first open

        window = StatusWindow()
        self._wire_status(window)
        window.show_view(self.view)
        return window

    def _open(self, name: str, make: Callable[[], W]) -> W:
        """The window ``name`` if it is showing, else a new one, deleted when it closes."""
        current: Any = getattr(self, name)
        if current is not None and current.isVisible():
            shown: W = current
            return shown
        if current is not None:
            current.deleteLater()  # closed, and deleted already or about to be
        widget = make()
        widget.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        serial = self._made[name] = self._made.get(name, 0) + 1
        widget.destroyed.connect(lambda _=None: self._forget(name, serial))
        setattr(self, name, widget)
        return widget

    def _forget(self, name: str, serial: int) -> None:
        if self._made.get(name) == serial:
            setattr(self, name, None)
