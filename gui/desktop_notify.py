"""Desktop notifications through ``org.freedesktop.Notifications`` itself, with actions
where the server has them (dunst, GNOME Shell, KDE Plasma, xfce4-notifyd, mako).

    notifier = DesktopNotifier(link)     # asks the server's capabilities
    notifier.show(notice, [("default", "Show"), ("rollback", "Roll back to 17.1.0")])
    notifier.action_invoked.connect(run)             # (action key, agent)

Before the server has answered, or without one, ``available`` is False and the tray uses
Qt's own message instead. A server without "actions" gets the same text, no buttons.
"""

from __future__ import annotations

import logging
from typing import Any

from jeepney import DBusAddress, Message
from PySide6.QtCore import QObject, Signal

from gui.dbus_link import BusLink
from gui.viewmodel import Notice

__all__ = ["NOTIFICATIONS", "DesktopNotifier"]

_log = logging.getLogger("shepherd.tray")

NOTIFICATIONS = DBusAddress(
    "/org/freedesktop/Notifications",
    "org.freedesktop.Notifications",
    "org.freedesktop.Notifications",
)
_URGENCY = {"info": 1, "warning": 1, "error": 2}
_TIMEOUT_MS = 10_000


class DesktopNotifier(QObject):
    action_invoked = Signal(str, str)  # (action key, the agent the notification is about)
    shown = Signal(int, object)  # (the server's id, the Notice)

    def __init__(self, link: BusLink, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._link = link
        self.capabilities: list[str] | None = None  # None: no server has answered (yet)
        self.server = ""
        self._open: dict[int, str] = {}  # the server's id -> the agent it is about
        link.on_signal(NOTIFICATIONS.interface or "", "ActionInvoked", self._invoked)
        link.on_signal(NOTIFICATIONS.interface or "", "NotificationClosed", self._closed)
        link.call(
            NOTIFICATIONS, "GetCapabilities", on_reply=self._set_capabilities,
            on_error=lambda e: _log.info("no notification server: %s", e),
        )  # fmt: skip
        link.call(NOTIFICATIONS, "GetServerInformation", on_reply=self._set_server)

    @property
    def available(self) -> bool:
        return self.capabilities is not None and self._link.connected

    @property
    def has_actions(self) -> bool:
        return self.capabilities is not None and "actions" in self.capabilities

    def show(self, notice: Notice, actions: list[tuple[str, str]], agent: str = "") -> None:
        """Raise ``notice``; ``actions`` (key, label) only if the server shows them."""
        flat: list[str] = []
        if self.has_actions:
            for key, label in actions:
                flat += [key, label]
        hints: dict[str, tuple[str, Any]] = {
            "urgency": ("y", _URGENCY.get(notice.level, 1)),
            "desktop-entry": ("s", "org.agentshepherd.tray"),
        }
        body = ("Shepherd", 0, "agent-shepherd", notice.title, notice.message, flat, hints)

        def sent(reply: tuple[Any, ...]) -> None:
            number = int(reply[0])
            self._open[number] = agent
            self.shown.emit(number, notice)

        self._link.call(
            NOTIFICATIONS, "Notify", "susssasa{sv}i", (*body, _TIMEOUT_MS), on_reply=sent,
            on_error=lambda e: _log.info("the notification server refused it: %s", e),
        )  # fmt: skip

    def _set_capabilities(self, reply: tuple[Any, ...]) -> None:
        self.capabilities = [str(c) for c in reply[0]]
        _log.info("notification server capabilities: %s", ", ".join(self.capabilities))

    def _set_server(self, reply: tuple[Any, ...]) -> None:
        self.server = f"{reply[0]} {reply[2]}"

    def _invoked(self, message: Message) -> None:
        number, key = int(message.body[0]), str(message.body[1])
        if number in self._open:
            _log.info("notification %d: %s chosen", number, key)
            self.action_invoked.emit(key, self._open[number])

    def _closed(self, message: Message) -> None:
        self._open.pop(int(message.body[0]), None)
