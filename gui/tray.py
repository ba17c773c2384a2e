"""The tray: an icon (or, without a tray host, a small window) that shows the view model
and a menu that asks the daemon to act.

``TrayController`` owns the menu and the windows and turns worker signals into a
``TrayView``; it never waits on the daemon: every request goes through ``ApiWorker.call``
and its answer comes back as a callback on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from engine.api.client import ApiClient
from gui.about import with_release
from gui.feedback import acknowledgement, answer_text, refusal
from gui.icons import state_icon
from gui.prompts import Prompts
from gui.status_model import week_strip
from gui.tray_actions import AgentActions, elided
from gui.tray_panel import DesktopLink, notice_actions
from gui.tray_session import TraySession
from gui.viewmodel import (
    AgentView,
    IconState,
    Notice,
    TrayView,
    access_note,
    daemon_down_view,
    daemon_state_notice,
    notification_for,
    tray_view,
    with_access,
)
from gui.views.history_view import HistoryView
from gui.views.schedule_view import ScheduleView
from gui.views.settings_dialog import SettingsDialog
from gui.window import StatusWindow
from gui.worker import ApiWorker

__all__ = ["TrayController"]

_log = logging.getLogger("shepherd.tray")

_LEVEL_ICON = {
    "info": QSystemTrayIcon.MessageIcon.Information,
    "warning": QSystemTrayIcon.MessageIcon.Warning,
    "error": QSystemTrayIcon.MessageIcon.Critical,
}


class TrayController(QObject, AgentActions):
    view_changed = Signal(object)  # TrayView
    notified = Signal(object)  # Notice, each one raised
    action_done = Signal(str, object)  # (action id, answer)
    action_failed = Signal(str, str)  # (action id, message)

    def __init__(
        self,
        worker: ApiWorker,
        *,
        prompts: Prompts | None = None,
        use_tray: bool | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.worker = worker
        self.view: TrayView = TrayView(IconState.DAEMON_DOWN, "Shepherd: connecting…", ())
        self._seen_view: TrayView | None = None
        self._host_settings: dict[str, Any] = {}
        self._settings_answer: dict[str, Any] = {}
        self._agents: list[dict[str, Any]] = []  # the last GET /v1/agents
        self._refusals: list[str] = []  # reasons shown for refused actions (not shown twice)
        self._announced: set[tuple[str, str]] = set()  # (agent, version) offers announced
        self.log_path: Path | None = None  # the tray's log file, when it writes one
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self._rebuild_menu)
        self.menu.aboutToShow.connect(worker.refresh)  # what it shows next is the daemon's now
        self.actions: dict[str, QAction] = {}
        self.desktop = DesktopLink.open(self.menu, want_item=use_tray is not False)
        self.sni = self.desktop.item if self.desktop is not None else None
        if use_tray is None:
            use_tray = self.sni is not None or QSystemTrayIcon.isSystemTrayAvailable()
        self.tray: QSystemTrayIcon | None = None
        self.window: StatusWindow | None = None
        if self.desktop is not None:
            self.desktop.notifier.action_invoked.connect(self._on_notice_action)
        if self.sni is not None and use_tray:
            self.sni.activated.connect(self.open_status)
        elif use_tray:
            self.tray = QSystemTrayIcon(state_icon(self.view.state))
            self.tray.setContextMenu(self.menu)
            self.tray.setToolTip(self.view.tooltip)
            self.tray.activated.connect(self._on_activated)
            self.tray.messageClicked.connect(self._on_message_clicked)
        else:
            self.window = StatusWindow(self.menu)
        self.status_window: StatusWindow | None = None
        if self.window is not None:
            self._wire_status(self.window)
        self._clicked_update: str | None = None  # the agent an "Update available" names
        self.prompts = prompts or Prompts(self.window)
        self.history: HistoryView | None = None
        self.schedule: ScheduleView | None = None
        self.settings: SettingsDialog | None = None
        self._access: str | None = None
        self.hello: dict[str, Any] = {}  # the daemon's last GET /v1: who we are to it
        self.session = TraySession(self)
        worker.hello_changed.connect(self._on_hello)
        worker.agents_changed.connect(self._on_agents)
        worker.daemon_down.connect(self._on_down)
        worker.event_received.connect(self._on_event)
        self._rebuild_menu()

    def show(self) -> None:
        if self.tray is not None:
            self.tray.show()
        elif self.window is not None:
            self.window.show()

    def close(self) -> None:
        for widget in (self.history, self.schedule, self.settings, self.window, self.status_window):
            if widget is not None:
                widget.close()
        if self.tray is not None:
            self.tray.hide()
        if self.desktop is not None:
            self.desktop.close()
            self.desktop = self.sni = None

    def dispose(self) -> None:
        """Delete every Qt object this controller made, now, while the application still
        exists (left to the garbage collector they may outlive it)."""
        self.close()
        windows = (self.history, self.schedule, self.settings, self.window, self.status_window)
        for widget in windows:
            if widget is not None:
                widget.deleteLater()
        if self.tray is not None:
            self.tray.deleteLater()
        self.menu.deleteLater()
        self.history = self.schedule = self.settings = self.window = self.status_window = None
        self.tray = None
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    # ---- state from the worker ----------------------------------------------------------
    @Slot(object)
    def _on_agents(self, agents: list[dict[str, Any]]) -> None:
        if not self.view.daemon_up or not self._host_settings:
            self._load_settings()
        self._agents = agents
        view = with_access(tray_view(agents), self._access)
        self.show_view(with_release(view, self.hello.get("shepherd")))
        self._show_schedule()

    @Slot(object)
    def _on_hello(self, hello: dict[str, Any]) -> None:
        self.hello = hello
        self._access = access_note(hello)

    @Slot(str)
    def _on_down(self, message: str) -> None:
        self.show_view(daemon_down_view(message))

    @Slot(object)
    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "notification":
            notice = notification_for(event, self._host_settings)
            said = str(event.get("message") or "")
            if said in self._refusals:  # the refused action's reason is on screen already
                self._refusals.remove(said)
            elif notice is not None:
                self._notify(notice)
        elif kind == "settings":
            self._load_settings()
        elif kind == "progress" and self.view.daemon_up:
            self._show_progress(event)

    def show_view(self, view: TrayView) -> None:
        notice = daemon_state_notice(self._seen_view, view)
        if self._seen_view is None or self._seen_view.tooltip != view.tooltip:
            _log.info("showing %s: %s", view.state.value, view.tooltip.replace("\n", " | "))
        self._seen_view = view
        self.view = view
        if self.tray is not None:
            self.tray.setIcon(state_icon(view.state))
            self.tray.setToolTip(view.tooltip)
        if self.sni is not None:
            self.sni.show_view(view)
        if self.window is not None:
            self.window.show_view(view)
        if self.status_window is not None and self.status_window is not self.window:
            self.status_window.show_view(view)
        for agent in view.agents:
            if agent.state is IconState.AVAILABLE and agent.offered:
                self._announce_offer(agent)
        if not self.menu.isVisible():  # an open menu is rebuilt on its next aboutToShow
            self._rebuild_menu()
        if notice is not None:
            self._notify(notice)
        self.view_changed.emit(view)

    def _announce_offer(self, agent: AgentView) -> None:
        """Once per version: "Update available" (unless ``notifications.on_update`` is off);
        a click on it opens the update prompt."""
        key = (agent.name, str(agent.offered))
        if key in self._announced:
            return
        self._announced.add(key)
        if self._host_settings.get("notifications.on_update") is False:
            return  # the admin silenced update news
        self._clicked_update = agent.name
        self._notify(Notice("Update available", f"{agent.name}: {agent.why}", "info"))

    @Slot(str, str)
    def _on_notice_action(self, key: str, name: str) -> None:
        """A desktop notification's button (or the notification itself) was clicked."""
        if key == "rollback" and (agent := self._agent(name)) is not None:
            self.rollback(agent)
        elif key == "update":
            self.update_now(name)
        else:
            self.open_status()

    @Slot()
    def _on_message_clicked(self) -> None:
        if self._clicked_update is not None:
            self.update_now(self._clicked_update)

    @Slot(QSystemTrayIcon.ActivationReason)
    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_status()

    def _wire_status(self, window: StatusWindow) -> None:
        window.action_requested.connect(self.run_action)
        window.shown.connect(self._load_settings)

    def _show_schedule(self) -> None:
        window = self.status_window or self.window
        if window is None or not window.isVisible() or not self.view.daemon_up:
            return
        strip = week_strip(self._settings_answer, self._agents, now=datetime.now(UTC))
        window.show_schedule(strip)

    def _show_progress(self, event: dict[str, Any]) -> None:
        done, total = event.get("bytes_done"), event.get("bytes_total")
        if isinstance(done, int) and isinstance(total, int) and total > 0:
            text = f"{event.get('agent')}: downloading {100 * done // total}%"
            if self.tray is not None:
                self.tray.setToolTip(f"{self.view.tooltip}\n{text}")
            if self.sni is not None:
                self.sni.set_tooltip(f"{self.view.tooltip}\n{text}")
            if self.window is not None:
                self.window.show_message(text)

    def _load_settings(self) -> None:
        def fetch(api: ApiClient) -> dict[str, Any]:
            answer: dict[str, Any] = api.get("/v1/settings")
            return answer

        self.worker.call(fetch, self._set_settings, lambda _error: None)

    def _set_settings(self, answer: dict[str, Any]) -> None:
        self._settings_answer = answer
        self._host_settings = dict(answer["settings"]["host"])
        self._show_schedule()

    @property
    def host_settings(self) -> dict[str, Any]:
        """The host settings last read (notifications.* decide what is announced)."""
        return dict(self._host_settings)

    def _notify(self, notice: Notice) -> None:
        _log.info("notification (%s): %s: %s", notice.level, notice.title, notice.message)
        notifier = self.desktop.notifier if self.desktop is not None else None
        if notifier is not None and notifier.available:
            notifier.show(notice, notice_actions(notice, self.view), notice.agent or "")
        elif self.tray is not None:
            icon = _LEVEL_ICON.get(notice.level, QSystemTrayIcon.MessageIcon.Information)
            self.tray.showMessage(notice.title, notice.message, icon, 10_000)
        if self.window is not None:
            self.window.show_message(f"{notice.title}: {notice.message}")
        self.notified.emit(notice)

    # ---- the menu -----------------------------------------------------------------------
    def _rebuild_menu(self) -> None:
        self.menu.clear()
        self.actions.clear()
        view = self.view
        if not view.daemon_up:
            self._add(self.menu, "status", view.tooltip.split("\n", 1)[0], None)
        elif view.access is not None:
            self._add(self.menu, "access", "Read-only for you (actions ask for a password)", None)
            self.actions["access"].setToolTip(view.access)
        several = len(view.agents) > 1
        for agent in view.agents:
            target = self.menu.addMenu(agent.headline) if several else self.menu
            self._agent_actions(target, agent)
            if not several:
                self.menu.addSeparator()
        self._add(self.menu, "status", "Status…", self.open_status)
        self._add(self.menu, "history", "History…", self.open_history)
        self._add(self.menu, "schedule", "Schedule…", self.open_schedule)
        self._add(self.menu, "settings", "Settings…", self.open_settings)
        self.menu.addSeparator()
        self.session.add_items(self.menu)
        self._add(self.menu, "quit", "Quit", QApplication.quit)
        if self.sni is not None:
            self.sni.menu_changed()

    def _add(
        self,
        menu: QMenu,
        key: str,
        text: str,
        slot: Callable[[], object] | None,
        enabled: bool = True,
    ) -> QAction:
        action = menu.addAction(elided(menu, text))
        action.setObjectName(key)
        if action.text() != text:
            action.setToolTip(text)
        action.setEnabled(slot is not None and enabled)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        self.actions[key] = action
        return action

    # ---- actions ------------------------------------------------------------------------
    def _request(self, key: str, work: Callable[[ApiClient], object]) -> None:
        def done(answer: object) -> None:
            _log.info("%s done: %s", key, answer_text(answer))
            self.worker.refresh()
            notice = acknowledgement(key, answer)
            if notice is not None:
                self._notify(notice)
            elif self.window is not None:
                self.window.show_message(answer_text(answer))
            self.action_done.emit(key, answer)

        def failed(error: Exception) -> None:
            _log.info("%s failed: %s", key, error)
            self.worker.refresh()
            notice = refusal(key, error)
            self._refusals = [*self._refusals[-9:], notice.message.split(": ", 1)[-1]]
            self._notify(notice)
            self.action_failed.emit(key, str(error))

        self.worker.call(work, done, failed)

    # ---- windows ------------------------------------------------------------------------
    def open_status(self) -> None:
        """The status window: the fallback window itself, or one beside the tray icon."""
        window = self.window
        if window is None:
            if self.status_window is None:
                self.status_window = StatusWindow()
                self._wire_status(self.status_window)
                self.status_window.show_view(self.view)
            window = self.status_window
        window.show()
        window.raise_()
        window.activateWindow()
        self._show_schedule()

    def open_history(self) -> None:
        if self.history is None:
            self.history = HistoryView(self.worker)
        self.history.show()
        self.history.raise_()
        self.history.reload()

    def open_schedule(self) -> None:
        if self.schedule is None:
            self.schedule = ScheduleView(self.worker)
        self.schedule.show()
        self.schedule.raise_()
        self.schedule.reload()

    def open_settings(self) -> None:
        if self.settings is None:
            self.settings = SettingsDialog(self.worker, self._parent_widget())
        self.settings.show()
        self.settings.raise_()
        self.settings.reload()

    def _parent_widget(self) -> QWidget | None:
        return self.window
