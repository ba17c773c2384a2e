"""The tray's QMenu served over D-Bus as ``com.canonical.dbusmenu`` (version 3), the menu a
StatusNotifierItem panel draws itself (KDE, XFCE, GNOME's AppIndicator extension, waybar).

The panel asks for the layout (``GetLayout``), says when it opens (``AboutToShow``: the
tray rebuilds the menu from the daemon's latest answer, as when the QMenu opens) and
sends ``Event(id, "clicked")``, which triggers the QAction. Item ids stay the same for the
same entry across rebuilds (they are kept by the action's object name), so a click on a
menu opened before a rebuild still reaches the entry it showed.
"""

from __future__ import annotations

from typing import Any

from jeepney import DBusAddress, HeaderFields, Message
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from gui.dbus_link import BusLink, reply_to

__all__ = ["MENU_PATH", "MenuExporter"]

MENU_PATH = "/MenuBar"
_IFACE = "com.canonical.dbusmenu"
Item = tuple[int, dict[str, tuple[str, Any]], list[tuple[str, Any]]]


class MenuExporter:
    def __init__(self, link: BusLink, menu: QMenu) -> None:
        self._link = link
        self.menu = menu
        self.revision = 1
        self._ids: dict[str, int] = {"": 0}
        self._actions: dict[int, QAction] = {}
        link.export(MENU_PATH, self.handle)

    def changed(self) -> None:
        """The menu was rebuilt: tell the panel to ask for the layout again."""
        self.revision += 1
        self._link.send_signal(
            DBusAddress(MENU_PATH, interface=_IFACE), "LayoutUpdated", "ui", (self.revision, 0)
        )

    def layout(self, parent: int = 0) -> Item:
        self._actions.clear()
        root = self._item_of(self.menu, "", 0)
        found = self._find(root, parent)
        return found if found is not None else root

    def handle(self, call: Message) -> Message | None:
        fields = call.header.fields
        member, interface = fields.get(HeaderFields.member), fields.get(HeaderFields.interface)
        args = call.body
        if interface == "org.freedesktop.DBus.Properties":
            return self._properties(call, str(member))
        if member == "GetLayout":
            return reply_to(call, "u(ia{sv}av)", (self.revision, self.layout(int(args[0]))))
        if member == "AboutToShow":
            before = self.revision
            if int(args[0]) == 0:
                self.menu.aboutToShow.emit()  # the tray rebuilds it from the daemon's state
            return reply_to(call, "b", (self.revision != before,))
        if member == "AboutToShowGroup":
            if 0 in args[0]:
                self.menu.aboutToShow.emit()
            return reply_to(call, "aiai", ([], []))
        if member == "Event":
            self._event(int(args[0]), str(args[1]))
            return reply_to(call)
        if member == "EventGroup":
            for item_id, event, _data, _time in args[0]:
                self._event(int(item_id), str(event))
            return reply_to(call, "ai", ([],))
        if member == "GetGroupProperties":
            self.layout()
            wanted = [self._props(self._actions[i]) for i in args[0] if i in self._actions]
            ids = [i for i in args[0] if i in self._actions]
            return reply_to(call, "a(ia{sv})", (list(zip(ids, wanted, strict=True)),))
        if member == "GetProperty":
            self.layout()
            action = self._actions.get(int(args[0]))
            props = self._props(action) if action is not None else {}
            return reply_to(call, "v", (props.get(str(args[1]), ("s", "")),))
        return None

    def _properties(self, call: Message, member: str) -> Message | None:
        values: dict[str, tuple[str, Any]] = {
            "Version": ("u", 3),
            "TextDirection": ("s", "ltr"),
            "Status": ("s", "normal"),
            "IconThemePath": ("as", []),
        }
        if member == "GetAll":
            return reply_to(call, "a{sv}", (values,))
        if member == "Get" and call.body[1] in values:
            return reply_to(call, "v", (values[call.body[1]],))
        return None

    def _event(self, item_id: int, event: str) -> None:
        if event == "opened" and item_id == 0:
            self.menu.aboutToShow.emit()
        action = self._actions.get(item_id)
        if event == "clicked" and action is not None and action.isEnabled():
            QTimer.singleShot(0, action.trigger)  # after the reply: it may open a dialog

    # ---- the layout --------------------------------------------------------------------
    def _item_of(self, menu: QMenu, key: str, item_id: int) -> Item:
        children: list[tuple[str, Any]] = []
        for index, action in enumerate(menu.actions()):
            child_key = f"{key}/{action.objectName() or action.text() or index}"
            child_id = self._ids.setdefault(child_key, len(self._ids))
            self._actions[child_id] = action
            submenu = action.menu()
            if isinstance(submenu, QMenu):
                child = self._item_of(submenu, child_key, child_id)
                child[1].update(self._props(action))
            else:
                child = (child_id, self._props(action), [])
            children.append(("(ia{sv}av)", child))
        props: dict[str, tuple[str, Any]] = {"children-display": ("s", "submenu")}
        return (item_id, props, children)

    @staticmethod
    def _props(action: QAction) -> dict[str, tuple[str, Any]]:
        if action.isSeparator():
            return {"type": ("s", "separator")}
        props: dict[str, tuple[str, Any]] = {
            "label": ("s", action.text().replace("_", "__")),
            "enabled": ("b", action.isEnabled()),
            "visible": ("b", action.isVisible()),
        }
        if action.isCheckable():
            props["toggle-type"] = ("s", "checkmark")
            props["toggle-state"] = ("i", int(action.isChecked()))
        return props

    def _find(self, item: Item, wanted: int) -> Item | None:
        if item[0] == wanted:
            return item
        for _signature, child in item[2]:
            found = self._find(child, wanted)
            if found is not None:
                return found
        return None
