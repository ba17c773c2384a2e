"""The tray's session-bus half: a StatusNotifierItem when a panel hosts one, and desktop
notifications with actions, both over one connection. Without a session bus there is
neither and the tray uses QSystemTrayIcon (XEmbed) or its window, as before.

    desktop = DesktopLink.open(menu, want_item=True)   # None: no session bus
    desktop.item            # the StatusNotifierItem, or None (no watcher)
    desktop.notifier        # DesktopNotifier (``available`` once the server answered)
"""

from __future__ import annotations

from PySide6.QtWidgets import QMenu

from gui.dbus_link import BusLink
from gui.desktop_notify import DesktopNotifier
from gui.sni import StatusNotifierItem
from gui.viewmodel import Notice, TrayView

__all__ = ["DesktopLink", "notice_actions"]

# notifications of an update that may be undone although the view, still showing the agent
# busy with it, does not offer a rollback yet (the previous version is the backup)
_JUST_UPDATED = {"Agent updated"}
_UNDOABLE = {"Update failed", "Rolled back", "Rollback failed", "Update blocked"}


class DesktopLink:
    def __init__(self, link: BusLink, item: StatusNotifierItem | None) -> None:
        self.link = link
        self.item = item
        self.notifier = DesktopNotifier(link)

    @classmethod
    def open(cls, menu: QMenu, *, want_item: bool) -> DesktopLink | None:
        link = BusLink.session()
        if link is None:
            return None
        return cls(link, StatusNotifierItem.start(link, menu) if want_item else None)

    def close(self) -> None:
        if self.item is not None:
            self.item.close()
        self.link.close()
        self.notifier.deleteLater()
        if self.item is not None:
            self.item.deleteLater()
        self.link.deleteLater()
        self.item = None


def notice_actions(notice: Notice, view: TrayView) -> list[tuple[str, str]]:
    """A notification's buttons: "Show" (the status window; also what a click does),
    "Update now…" (the update prompt) on an offer, and "Roll back" when it tells of an
    update of an agent that can be rolled back now (the rollback itself asks for a reason,
    and the daemon for authentication, when chosen)."""
    actions = [("default", "Show")]
    agent = next((a for a in view.agents if a.name == notice.agent), None)
    if agent is None:
        return actions
    if notice.title == "Update available":
        return [*actions, ("update", "Update now…")]
    if notice.title in _JUST_UPDATED or (
        notice.title in _UNDOABLE and agent.can_rollback and agent.backup
    ):
        actions.append(("rollback", "Roll back"))
    return actions
