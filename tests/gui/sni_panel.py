"""A minimal StatusNotifierItem host, run as its own process on the test's session bus:
it owns ``org.kde.StatusNotifierWatcher`` and, like a panel, reads a registered item's
properties (``GetAll``) and menu (``GetLayout``) when it registers and again on each of its
``New*`` / ``LayoutUpdated`` signals, writing one JSON line per reading to a file.

    python -m tests.gui.sni_panel READINGS.jsonl

Used where xfce4-panel is not installed: it speaks the same protocol (the watcher's
methods, the item's properties and signals, dbusmenu), with no drawing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    Message,
    MessageType,
    new_method_call,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import MatchRule, message_bus
from jeepney.io.blocking import open_dbus_connection

WATCHER_NAME = "org.kde.StatusNotifierWatcher"
WATCHER = DBusAddress("/StatusNotifierWatcher", WATCHER_NAME, WATCHER_NAME)


def plain(value: Any) -> Any:
    """A parsed D-Bus value as JSON: variants unwrapped, pixel bytes as their length."""
    if isinstance(value, bytes):
        return len(value)
    is_pair = isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)
    if is_pair and value[0] and value[0][0] in "sbiuoa(yv":  # a variant: (signature, value)
        return plain(value[1])
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def labels(item: Any) -> list[str]:
    _id, props, children = item
    found = [str(props["label"][1])] if "label" in props else []
    for _signature, child in children:
        found += labels(child)
    return found


class Panel:
    def __init__(self, readings: Path) -> None:
        self.readings = readings
        self.bus = open_dbus_connection("SESSION")  # serves the watcher, hears signals
        self.asker = open_dbus_connection("SESSION")  # asks the items (replies only)
        self.items: list[str] = []
        self.senders: dict[str, str] = {}  # unique name -> registered service

    def run(self) -> None:
        for rule in (
            MatchRule(type="signal", interface="org.kde.StatusNotifierItem"),
            MatchRule(type="signal", interface="com.canonical.dbusmenu"),
        ):
            self.bus.send_and_get_reply(
                new_method_call(message_bus, "AddMatch", "s", (rule.serialise(),))
            )
        name = self.bus.send_and_get_reply(
            new_method_call(message_bus, "RequestName", "su", (WATCHER_NAME, 4))
        )
        assert name.body[0] == 1, f"could not own {WATCHER_NAME}: {name.body}"
        self.write({"watcher": "ready"})
        while True:
            message = self.bus.receive()
            self.dispatch(message)

    def dispatch(self, message: Message) -> None:
        fields = message.header.fields
        member = fields.get(HeaderFields.member)
        if message.header.message_type is MessageType.method_call:
            self.serve(message, str(member))
        elif message.header.message_type is MessageType.signal:
            service = self.senders.get(str(fields.get(HeaderFields.sender)))
            if service is not None:
                self.read(service, f"signal {member}")

    def serve(self, call: Message, member: str) -> None:
        if member == "RegisterStatusNotifierItem":
            service = str(call.body[0])
            self.items.append(service)
            self.senders[str(call.header.fields.get(HeaderFields.sender))] = service
            self.bus.send(new_method_return(call))
            self.bus.send(new_signal(WATCHER, "StatusNotifierItemRegistered", "s", (service,)))
            self.read(service, "registered")
        elif member in ("Get", "GetAll"):
            values = {
                "RegisteredStatusNotifierItems": ("as", self.items),
                "IsStatusNotifierHostRegistered": ("b", True),
                "ProtocolVersion": ("i", 0),
            }
            if member == "GetAll":
                self.bus.send(new_method_return(call, "a{sv}", (values,)))
            else:
                self.bus.send(new_method_return(call, "v", (values[call.body[1]],)))
        else:
            self.bus.send(new_method_return(call))

    def read(self, service: str, why: str) -> None:
        """GetAll + GetLayout, as a panel does; an item that went away is dropped."""
        item = DBusAddress("/StatusNotifierItem", service, "org.freedesktop.DBus.Properties")
        props = self.ask(new_method_call(item, "GetAll", "s", ("org.kde.StatusNotifierItem",)))
        if props is None:
            return self.drop(service, why)
        menu = DBusAddress(props[0]["Menu"][1], service, "com.canonical.dbusmenu")
        layout = self.ask(new_method_call(menu, "GetLayout", "iias", (0, -1, [])))
        if layout is None:
            return self.drop(service, why)
        reading = {"why": why, "service": service, **plain(props[0])}
        reading["menu"] = labels(layout[1])
        reading["menu_revision"] = layout[0]
        self.write(reading)
        return None

    def ask(self, call: Message) -> tuple[Any, ...] | None:
        reply = self.asker.send_and_get_reply(call, timeout=10)
        if reply.header.message_type is MessageType.error:
            return None
        return tuple(reply.body)

    def drop(self, service: str, why: str) -> None:
        if service in self.items:
            self.items.remove(service)
            self.bus.send(new_signal(WATCHER, "StatusNotifierItemUnregistered", "s", (service,)))
        self.write({"why": why, "gone": service})

    def write(self, reading: dict[str, Any]) -> None:
        with self.readings.open("a") as out:
            out.write(json.dumps(reading) + "\n")


if __name__ == "__main__":
    Panel(Path(sys.argv[1])).run()
