"""The tray: an icon (or, without a tray host, a small window) that shows the view model
and a menu that asks the daemon to act.

``TrayController`` owns the menu and the windows and turns worker signals into a
``TrayView``; it never waits on the daemon: every request goes through ``ApiWorker.call``
and its answer comes back as a callback on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from engine.api.client import ApiClient, ApiError, agent_path
from gui.icons import state_icon
from gui.prompts import Prompts
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


class TrayController(QObject):
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
        self.log_path: Path | None = None  # the tray's log file, when it writes one
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self._rebuild_menu)
        self.menu.aboutToShow.connect(worker.refresh)  # what it shows next is the daemon's now
        self.actions: dict[str, QAction] = {}
        if use_tray is None:
            use_tray = QSystemTrayIcon.isSystemTrayAvailable()
        self.tray: QSystemTrayIcon | None = None
        self.window: StatusWindow | None = None
        if use_tray:
            self.tray = QSystemTrayIcon(state_icon(self.view.state))
            self.tray.setContextMenu(self.menu)
            self.tray.setToolTip(self.view.tooltip)
        else:
            self.window = StatusWindow(self.menu)
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
        for widget in (self.history, self.schedule, self.settings, self.window):
            if widget is not None:
                widget.close()
        if self.tray is not None:
            self.tray.hide()

    def dispose(self) -> None:
        """Delete every Qt object this controller made, now, while the application still
        exists (left to the garbage collector they may outlive it)."""
        self.close()
        for widget in (self.history, self.schedule, self.settings, self.window):
            if widget is not None:
                widget.deleteLater()
        if self.tray is not None:
            self.tray.deleteLater()
        self.menu.deleteLater()
        self.history = self.schedule = self.settings = self.window = None
        self.tray = None
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    # ---- state from the worker ----------------------------------------------------------
    @Slot(object)
    def _on_agents(self, agents: list[dict[str, Any]]) -> None:
        if not self.view.daemon_up or not self._host_settings:
            self._load_settings()
        self.show_view(with_access(tray_view(agents), self._access))

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
            if notice is not None:
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
        if self.window is not None:
            self.window.show_view(view)
        if not self.menu.isVisible():  # an open menu is rebuilt on its next aboutToShow
            self._rebuild_menu()
        if notice is not None:
            self._notify(notice)
        self.view_changed.emit(view)

    def _show_progress(self, event: dict[str, Any]) -> None:
        done, total = event.get("bytes_done"), event.get("bytes_total")
        if isinstance(done, int) and isinstance(total, int) and total > 0:
            text = f"{event.get('agent')}: downloading {100 * done // total}%"
            if self.tray is not None:
                self.tray.setToolTip(f"{self.view.tooltip}\n{text}")
            if self.window is not None:
                self.window.show_message(text)

    def _load_settings(self) -> None:
        def fetch(api: ApiClient) -> dict[str, Any]:
            host: dict[str, Any] = api.get("/v1/settings")["settings"]["host"]
            return host

        self.worker.call(fetch, self._set_host_settings, lambda _error: None)

    def _set_host_settings(self, host: dict[str, Any]) -> None:
        self._host_settings = host

    @property
    def host_settings(self) -> dict[str, Any]:
        """The host settings last read (notifications.* decide what is announced)."""
        return dict(self._host_settings)

    def _notify(self, notice: Notice) -> None:
        _log.info("notification (%s): %s: %s", notice.level, notice.title, notice.message)
        if self.tray is not None:
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
        self._add(self.menu, "history", "History…", self.open_history)
        self._add(self.menu, "schedule", "Schedule…", self.open_schedule)
        self._add(self.menu, "settings", "Settings…", self.open_settings)
        self.menu.addSeparator()
        self.session.add_items(self.menu)
        self._add(self.menu, "quit", "Quit", QApplication.quit)

    def _agent_actions(self, menu: QMenu, agent: AgentView) -> None:
        name = agent.name
        header = self._add(menu, f"about:{name}", agent.headline, None)
        header.setToolTip(agent.why)
        self._add(menu, f"why:{name}", agent.progress_text or agent.why, None)
        idle = agent.busy is None
        self._add(menu, f"check:{name}", "Check now", lambda: self.check_now(name), idle)
        self._add(menu, f"update:{name}", "Update now…", lambda: self.update_now(name), idle)
        self._add(menu, f"pause:{name}", agent.pause_text, lambda: self.toggle_pause(agent), idle)
        rollback_text = f"Roll back to {agent.backup}…" if agent.backup else "Roll back…"
        self._add(
            menu,
            f"rollback:{name}",
            rollback_text,
            lambda: self.rollback(agent),
            agent.can_rollback,
        )

    def _add(
        self,
        menu: QMenu,
        key: str,
        text: str,
        slot: Callable[[], object] | None,
        enabled: bool = True,
    ) -> QAction:
        action = menu.addAction(text)
        action.setObjectName(key)
        action.setEnabled(slot is not None and enabled)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        self.actions[key] = action
        return action

    # ---- actions ------------------------------------------------------------------------
    def check_now(self, agent: str) -> None:
        self._request(f"check:{agent}", lambda api: api.post(agent_path(agent, "check")))

    def update_now(self, agent: str) -> None:
        if not self.prompts.confirm(
            "Update now",
            f"Update {agent} now, outside any maintenance window?\n"
            "It is health-checked and rolled back if it does not come up.",
        ):
            return
        self._request(
            f"update:{agent}", lambda api: api.post(agent_path(agent, "update"), {"now": True})
        )

    def toggle_pause(self, agent: AgentView) -> None:
        verb = "unpin" if agent.pinned else "pin"
        self._request(f"pause:{agent.name}", lambda api: api.post(agent_path(agent.name, verb)))

    def rollback(self, agent: AgentView) -> None:
        reason = self.prompts.rollback_reason(
            "Roll back",
            f"Roll {agent.name} back from {agent.version} to {agent.backup}?\n"
            f"{agent.version} will be remembered as bad. Reason:",
        )
        if reason is None:
            return
        self._request(
            f"rollback:{agent.name}",
            lambda api: api.post(agent_path(agent.name, "rollback"), {"reason": reason}),
        )

    def _request(self, key: str, work: Callable[[ApiClient], object]) -> None:
        def done(answer: object) -> None:
            _log.info("%s done: %s", key, _answer_text(answer))
            self.worker.refresh()
            if self.window is not None:
                self.window.show_message(_answer_text(answer))
            self.action_done.emit(key, answer)

        def failed(error: Exception) -> None:
            _log.info("%s failed: %s", key, error)
            self.worker.refresh()
            # a refused rollback is announced by the daemon's own notification
            announced = isinstance(error, ApiError) and error.status == 409
            if not (announced and key.startswith("rollback:")):
                title = f"{key.split(':', maxsplit=1)[0].capitalize()} failed"
                self._notify(Notice(title, str(error), "error"))
            self.action_failed.emit(key, str(error))

        self.worker.call(work, done, failed)

    # ---- windows ------------------------------------------------------------------------
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


def _answer_text(answer: object) -> str:
    if isinstance(answer, dict):
        outcome = answer.get("outcome")
        if isinstance(outcome, dict):
            return str(outcome.get("message") or "")
        decision = answer.get("decision")
        if isinstance(decision, dict):
            return str(decision.get("message") or "")
        if "message" in answer:
            return str(answer["message"])
    return "done"
