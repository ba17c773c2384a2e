"""One tray per user session: the first start listens on a Unix socket in the user's
runtime directory; a second start finds it there, asks it to show itself, and exits.

    instance = SingleInstance.claim()      # None: another tray runs (it was asked to show)
    instance.show_requested.connect(...)

Plain sockets watched by ``QSocketNotifier``: QtNetwork's ``QLocalServer`` would cost the
tray ~3 MB resident for this one socket.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, QSocketNotifier, Signal

__all__ = ["SingleInstance", "instance_socket"]

_SHOW = b"show\n"
_CONNECT_SECONDS = 1.0


def instance_socket() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "shepherd-tray.sock"
    return Path(tempfile.gettempdir()) / f"shepherd-tray-{os.getuid()}.sock"


class SingleInstance(QObject):
    show_requested = Signal()

    def __init__(self, server: socket.socket, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._server = server
        self._path = path
        self._clients: dict[int, tuple[socket.socket, QSocketNotifier]] = {}
        self._notifier = QSocketNotifier(server.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_connection)

    @classmethod
    def claim(cls, path: Path | None = None) -> SingleInstance | None:
        """This process's claim to be the tray, or None after asking the running one to
        show itself. A socket left by a tray that died is taken over."""
        where = path or instance_socket()
        if _ask_to_show(where):
            return None
        with contextlib.suppress(FileNotFoundError):
            where.unlink()  # nobody answered: a stale socket, if any
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.bind(str(where))
            where.chmod(0o600)  # this user's trays only
            server.listen(8)
            server.setblocking(False)
        except OSError as e:
            server.close()
            raise OSError(f"cannot listen on {where}: {e.strerror or e}") from e
        return cls(server, where)

    def _on_connection(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            client.setblocking(False)
            notifier = QSocketNotifier(client.fileno(), QSocketNotifier.Type.Read, self)
            notifier.activated.connect(lambda *_, c=client: self._read(c))
            self._clients[client.fileno()] = (client, notifier)

    def _read(self, client: socket.socket) -> None:
        try:
            data = client.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        self._drop(client)
        if data.startswith(_SHOW.strip()):
            self.show_requested.emit()

    def _drop(self, client: socket.socket) -> None:
        entry = self._clients.pop(client.fileno(), None)
        if entry is not None:
            entry[1].setEnabled(False)
            entry[1].deleteLater()
        client.close()

    def close(self) -> None:
        self._notifier.setEnabled(False)
        for client, _ in list(self._clients.values()):
            self._drop(client)
        self._server.close()
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()


def _ask_to_show(path: Path) -> bool:
    """True when a tray listens on ``path`` and was asked to show itself."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as other:
        other.settimeout(_CONNECT_SECONDS)
        try:
            other.connect(str(path))
            other.sendall(_SHOW)
        except OSError:
            return False
    return True
