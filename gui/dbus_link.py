"""The tray's own connection to the session bus, served from Qt's event loop.

    link = BusLink.session()                  # None: no session bus here
    link.export("/StatusNotifierItem", item.handle)           # serve method calls
    link.call(address, "GetCapabilities", on_reply=...)       # asynchronous
    link.on_signal(NOTIFICATIONS_IFACE, "ActionInvoked", handler)
    link.send_signal(address, "NewStatus", "s", ("NeedsAttention",))

Messages are built and parsed by jeepney (pure Python, already a dependency of keyring's
Secret Service backend); Qt's QtDBus cannot marshal the StatusNotifierItem's structured
types (``a(iiay)``, ``(sa(iiay)ss)``) from Python. A QSocketNotifier reads the socket when
the bus has something to say, so nothing polls and nothing blocks the GUI thread except
the connect (bounded by a timeout).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    Message,
    MessageType,
    new_error,
    new_method_call,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection
from PySide6.QtCore import QObject, QSocketNotifier, Slot

__all__ = ["BusLink", "Handler", "Reply", "error_reply", "reply_to"]

_log = logging.getLogger("shepherd.tray")

Reply = Callable[[tuple[Any, ...]], object]
Handler = Callable[[Message], "Message | None"]  # a method call -> its reply (None: unknown)


def reply_to(call: Message, signature: str | None = None, body: tuple[Any, ...] = ()) -> Message:
    return new_method_return(call, signature, body)


def error_reply(call: Message, name: str, text: str) -> Message:
    return new_error(call, name, "s", (text,))


class BusLink(QObject):
    """One session bus connection: exported objects, pending calls and signal handlers."""

    def __init__(self, connection: DBusConnection, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._connection: DBusConnection | None = connection
        self.unique_name = str(connection.unique_name)
        self._objects: dict[str, Handler] = {}
        self._pending: dict[int, tuple[Reply | None, Callable[[str], object] | None]] = {}
        self._signals: dict[tuple[str, str], list[Callable[[Message], object]]] = {}
        self._notifier = QSocketNotifier(connection.sock.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._readable)

    @classmethod
    def session(cls, timeout: float = 2.0) -> BusLink | None:
        """The session bus, or None when there is none (or it does not answer)."""
        try:
            return cls(open_dbus_connection("SESSION", auth_timeout=timeout))
        except (KeyError, OSError, TimeoutError, ValueError, RuntimeError) as e:
            _log.info("no session bus: %s", e)
            return None

    @property
    def connected(self) -> bool:
        return self._connection is not None

    # ---- what we serve -----------------------------------------------------------------
    def export(self, path: str, handler: Handler) -> None:
        self._objects[path] = handler

    def request_name(self, name: str) -> None:
        self.call(message_bus, "RequestName", "su", (name, 4))  # 4: do not queue

    def send_signal(
        self, emitter: DBusAddress, member: str, signature: str | None, body: tuple[Any, ...]
    ) -> None:
        self._send(new_signal(emitter, member, signature, body))

    # ---- what we ask -------------------------------------------------------------------
    def call(
        self,
        address: DBusAddress,
        method: str,
        signature: str | None = None,
        body: tuple[Any, ...] = (),
        *,
        on_reply: Reply | None = None,
        on_error: Callable[[str], object] | None = None,
    ) -> None:
        """Call ``method``; ``on_reply`` gets the reply's body, ``on_error`` the error."""
        if self._connection is None:
            if on_error is not None:
                on_error("not connected to the session bus")
            return
        serial = next(self._connection.outgoing_serial)
        self._pending[serial] = (on_reply, on_error)
        self._send(new_method_call(address, method, signature, body), serial)

    def call_blocking(
        self, address: DBusAddress, method: str, signature: str | None = None,
        body: tuple[Any, ...] = (), timeout: float = 2.0,
    ) -> tuple[Any, ...] | None:  # fmt: skip
        """Call ``method`` and wait up to ``timeout`` for its answer (None on an error);
        only for the one question asked before the tray shows: is a panel there?"""
        if self._connection is None:
            return None
        self._notifier.setEnabled(False)
        try:
            reply = self._connection.send_and_get_reply(
                new_method_call(address, method, signature, body), timeout=timeout
            )
        except (OSError, TimeoutError) as e:
            _log.info("%s failed: %s", method, e)
            return None
        finally:
            self._notifier.setEnabled(True)
        if reply.header.message_type is MessageType.error:
            _log.info("%s failed: %s", method, reply.body[:1])
            return None
        return tuple(reply.body)

    def on_signal(self, interface: str, member: str, handler: Callable[[Message], object]) -> None:
        """Run ``handler`` for each such signal (the match rule is added on the bus)."""
        key = (interface, member)
        if key not in self._signals:
            rule = f"type='signal',interface='{interface}',member='{member}'"
            self.call(message_bus, "AddMatch", "s", (rule,))
        self._signals.setdefault(key, []).append(handler)

    def close(self) -> None:
        if self._connection is None:
            return
        self._notifier.setEnabled(False)
        self._notifier.deleteLater()
        self._connection.close()
        self._connection = None
        self._pending.clear()

    # ---- the socket --------------------------------------------------------------------
    def _send(self, message: Message, serial: int | None = None) -> None:
        if self._connection is None:
            return
        try:
            self._connection.send(message, serial)
        except OSError as e:
            _log.info("the session bus went away: %s", e)
            self.close()

    @Slot()
    def _readable(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            data = connection.sock.recv(65536)
        except OSError as e:
            data = b""
            _log.info("the session bus went away: %s", e)
        if not data:
            self.close()
            return
        connection.parser.add_data(data)
        while self._connection is not None:
            message = connection.parser.get_next_message()
            if message is None:
                break
            self._dispatch(message)

    def _dispatch(self, message: Message) -> None:
        kind = message.header.message_type
        fields = message.header.fields
        if kind is MessageType.method_call:
            self._serve(message)
        elif kind in (MessageType.method_return, MessageType.error):
            on_reply, on_error = self._pending.pop(
                fields.get(HeaderFields.reply_serial, 0), (None, None)
            )
            if kind is MessageType.error:
                error = f"{fields.get(HeaderFields.error_name)}: {message.body[:1]}"
                if on_error is not None:
                    on_error(error)
                else:
                    _log.debug("D-Bus error: %s", error)
            elif on_reply is not None:
                on_reply(tuple(message.body))
        elif kind is MessageType.signal:
            key = (str(fields.get(HeaderFields.interface)), str(fields.get(HeaderFields.member)))
            for handler in self._signals.get(key, []):
                handler(message)

    def _serve(self, call: Message) -> None:
        fields = call.header.fields
        handler = self._objects.get(str(fields.get(HeaderFields.path)))
        reply = handler(call) if handler is not None else None
        if reply is None:
            what = f"{fields.get(HeaderFields.interface)}.{fields.get(HeaderFields.member)}"
            reply = error_reply(call, "org.freedesktop.DBus.Error.UnknownMethod", f"no {what} here")
        if call.header.flags & 1:  # NO_REPLY_EXPECTED
            return
        self._send(reply)
