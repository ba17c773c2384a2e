"""The panel icon as a StatusNotifierItem (``org.kde.StatusNotifierItem``, registered with
``org.kde.StatusNotifierWatcher`` on the session bus): what KDE, XFCE, GNOME with the
AppIndicator extension, waybar and most panels of today host. Qt's QSystemTrayIcon cannot
say *NeedsAttention*, name a symbolic icon or serve a menu of its own; this can.

    item = StatusNotifierItem.start(link, menu)   # None: no watcher (no SNI panel) here
    item.show_view(view)                          # Status, IconName, ToolTip, menu
    item.activated.connect(open_status)           # a left click

Status: *NeedsAttention* when an agent failed, was rolled back, is remembered as bad or its
cluster cannot be asked (the tray's ERROR and ATTENTION states); *Active* otherwise, also
when all is up to date: xfce4-panel hides a *Passive* item altogether, and the icon is the
way to the status window and the menu. The icon is named
(``agent-shepherd-<state>-symbolic`` under ``IconThemePath``) and also given as pixels in the
palette's text colour for panels that cannot load it.
"""

from __future__ import annotations

import array
import logging
import os
import sys
from typing import Any

from jeepney import DBusAddress, HeaderFields, Message
from jeepney.bus_messages import message_bus
from PySide6.QtCore import QObject, QPoint, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu

from gui.dbus_link import BusLink, reply_to
from gui.icons import SYMBOLIC_THEME_PATH, symbolic_image, symbolic_name
from gui.sni_menu import MENU_PATH, MenuExporter
from gui.viewmodel import IconState, TrayView

__all__ = ["ITEM_PATH", "WATCHER", "StatusNotifierItem", "sni_status"]

_log = logging.getLogger("shepherd.tray")

ITEM_PATH = "/StatusNotifierItem"
_IFACE = "org.kde.StatusNotifierItem"
WATCHER = DBusAddress(
    "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher", "org.kde.StatusNotifierWatcher"
)
_PIXMAP_SIZES = (16, 22, 32, 48)
_INTROSPECTION = """<node><interface name="org.kde.StatusNotifierItem">
<property name="Category" type="s" access="read"/><property name="Id" type="s" access="read"/>
<property name="Title" type="s" access="read"/><property name="Status" type="s" access="read"/>
<property name="WindowId" type="i" access="read"/>
<property name="IconThemePath" type="s" access="read"/>
<property name="IconName" type="s" access="read"/>
<property name="IconPixmap" type="a(iiay)" access="read"/>
<property name="AttentionIconName" type="s" access="read"/>
<property name="ToolTip" type="(sa(iiay)ss)" access="read"/>
<property name="ItemIsMenu" type="b" access="read"/><property name="Menu" type="o" access="read"/>
<method name="ContextMenu"><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
<method name="Activate"><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
<method name="SecondaryActivate"><arg type="i" direction="in"/><arg type="i" direction="in"/>
</method>
<method name="Scroll"><arg type="i" direction="in"/><arg type="s" direction="in"/></method>
<signal name="NewTitle"/><signal name="NewIcon"/><signal name="NewAttentionIcon"/>
<signal name="NewToolTip"/><signal name="NewStatus"><arg type="s"/></signal>
</interface></node>"""


def sni_status(state: IconState) -> str:
    if state in (IconState.ERROR, IconState.ATTENTION):
        return "NeedsAttention"
    return "Active"


class StatusNotifierItem(QObject):
    activated = Signal()  # a left click on the icon

    def __init__(self, link: BusLink, menu: QMenu, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self.qmenu = menu
        self.menu = MenuExporter(link, menu)
        self.service = f"org.kde.StatusNotifierItem-{os.getpid()}-1"
        self.state = IconState.DAEMON_DOWN
        self.tooltip = "Shepherd"
        self.registered = False
        self.reads = 0  # property reads served (a panel that hosts the item reads them)
        link.export(ITEM_PATH, self.handle)
        link.on_signal("org.freedesktop.DBus", "NameOwnerChanged", self._owner_changed)

    @classmethod
    def start(cls, link: BusLink, menu: QMenu) -> StatusNotifierItem | None:
        """The item, registered with the panel's watcher; None when there is no watcher."""
        answer = link.call_blocking(message_bus, "NameHasOwner", "s", (WATCHER.bus_name,))
        if not answer or not answer[0]:
            _log.info("no StatusNotifierWatcher on the session bus")
            return None
        item = cls(link, menu)
        link.request_name(item.service)
        item.register()
        return item

    def register(self) -> None:
        def done(_body: tuple[Any, ...]) -> None:
            self.registered = True
            _log.info("registered %s with the StatusNotifierWatcher", self.service)

        def failed(error: str) -> None:
            _log.info("the StatusNotifierWatcher refused %s: %s", self.service, error)

        self.link.call(
            WATCHER, "RegisterStatusNotifierItem", "s", (self.service,),
            on_reply=done, on_error=failed,
        )  # fmt: skip

    def show_view(self, view: TrayView) -> None:
        if view.state is not self.state:
            old_status = sni_status(self.state)
            self.state = view.state
            self._emit("NewIcon")
            if sni_status(view.state) != old_status:
                self._emit("NewStatus", "s", (sni_status(view.state),))
        self.set_tooltip(view.tooltip)

    def set_tooltip(self, text: str) -> None:
        if text != self.tooltip:
            self.tooltip = text
            self._emit("NewToolTip")

    def menu_changed(self) -> None:
        self.menu.changed()

    def close(self) -> None:
        """Leave the panel: give up the name (the watcher drops the item)."""
        self.link.call(message_bus, "ReleaseName", "s", (self.service,))

    # ---- what the panel reads ----------------------------------------------------------
    def properties(self) -> dict[str, tuple[str, Any]]:
        pixmaps = self._pixmaps()
        lines = self.tooltip.split("\n", 1)
        return {
            "Category": ("s", "SystemServices"),
            "Id": ("s", "shepherd-tray"),
            "Title": ("s", "Shepherd"),
            "Status": ("s", sni_status(self.state)),
            "WindowId": ("i", 0),
            "IconThemePath": ("s", str(SYMBOLIC_THEME_PATH)),
            "IconName": ("s", symbolic_name(self.state)),
            "IconPixmap": ("a(iiay)", pixmaps),
            "OverlayIconName": ("s", ""),
            "AttentionIconName": ("s", symbolic_name(self.state)),
            "AttentionIconPixmap": ("a(iiay)", pixmaps),
            "AttentionMovieName": ("s", ""),
            "ToolTip": (
                "(sa(iiay)ss)",
                (symbolic_name(self.state), pixmaps, lines[0], lines[1] if len(lines) > 1 else ""),
            ),
            "ItemIsMenu": ("b", False),
            "Menu": ("o", MENU_PATH),
        }

    def handle(self, call: Message) -> Message | None:
        fields = call.header.fields
        interface, member = fields.get(HeaderFields.interface), fields.get(HeaderFields.member)
        if interface == "org.freedesktop.DBus.Introspectable":
            return reply_to(call, "s", (_INTROSPECTION,))
        if interface == "org.freedesktop.DBus.Properties":
            self.reads += 1
            values = self.properties()
            if member == "GetAll":
                return reply_to(call, "a{sv}", (values,))
            if member == "Get" and call.body[1] in values:
                return reply_to(call, "v", (values[call.body[1]],))
            return None
        if member == "Activate":
            self.activated.emit()
        elif member == "ContextMenu":  # a panel without dbusmenu: our own menu, there
            self.qmenu.aboutToShow.emit()
            self.qmenu.popup(QPoint(int(call.body[0]), int(call.body[1])))
        elif member not in ("SecondaryActivate", "Scroll"):
            return None
        return reply_to(call)

    def _pixmaps(self) -> list[tuple[int, int, bytes]]:
        """ARGB32 in network byte order, as the specification asks, in the text colour of
        the desktop's palette (light on a dark panel, dark on a light one)."""
        palette = QGuiApplication.palette()
        pixmaps = []
        for size in _PIXMAP_SIZES:
            image = symbolic_image(self.state, size, palette)
            words = array.array("I", bytes(image.constBits())[: size * size * 4])
            if sys.byteorder == "little":
                words.byteswap()  # each 0xAARRGGBB word as the bytes A, R, G, B
            pixmaps.append((size, size, words.tobytes()))
        return pixmaps

    def _emit(self, member: str, signature: str | None = None, body: tuple[Any, ...] = ()) -> None:
        self.link.send_signal(DBusAddress(ITEM_PATH, interface=_IFACE), member, signature, body)

    def _owner_changed(self, message: Message) -> None:
        name, _old, new = message.body
        if name == WATCHER.bus_name and new:
            _log.info("a StatusNotifierWatcher appeared: registering again")
            self.register()
