"""One tray per user session: the first start listens on a local socket in the user's
runtime directory; a second start finds it there, asks it to show itself, and exits.

    instance = SingleInstance.claim()      # None: another tray runs (it was asked to show)
    instance.show_requested.connect(...)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

__all__ = ["SingleInstance", "instance_socket"]

_SHOW = b"show\n"
_CONNECT_MS = 1000


def instance_socket() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "shepherd-tray.sock"
    return Path(tempfile.gettempdir()) / f"shepherd-tray-{os.getuid()}.sock"


class SingleInstance(QObject):
    show_requested = Signal()

    def __init__(self, server: QLocalServer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._server = server
        server.setParent(self)
        server.newConnection.connect(self._on_connection)

    @classmethod
    def claim(cls, path: Path | None = None) -> SingleInstance | None:
        """This process's claim to be the tray, or None after asking the running one to
        show itself. A socket left by a tray that died is taken over."""
        name = str(path or instance_socket())
        other = QLocalSocket()
        other.connectToServer(name)
        if other.waitForConnected(_CONNECT_MS):
            other.write(_SHOW)
            other.waitForBytesWritten(_CONNECT_MS)
            other.disconnectFromServer()
            return None
        QLocalServer.removeServer(name)  # nobody answered: a stale socket, if any
        server = QLocalServer()
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(name):
            raise OSError(f"cannot listen on {name}: {server.errorString()}")
        return cls(server)

    def _on_connection(self) -> None:
        while (client := self._server.nextPendingConnection()) is not None:
            client.readyRead.connect(lambda client=client: self._read(client))
            client.disconnected.connect(client.deleteLater)

    def _read(self, client: QLocalSocket) -> None:
        if bytes(client.readAll().data()).startswith(_SHOW.strip()):
            self.show_requested.emit()

    def close(self) -> None:
        self._server.close()
