"""SIGINT (Ctrl-C in a terminal) and SIGTERM (the session logging out) quit the tray
cleanly, with no timer: Python's C-level handler writes to a socket that Qt watches, so the
event loop wakes, and the Python handler runs in the GUI thread."""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier, QTimer

__all__ = ["QuitOnSignals"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class QuitOnSignals(QObject):
    """While alive, SIGINT and SIGTERM call ``quit`` once (queued in the event loop); a
    second signal while quitting is ignored so it cannot kill the tray mid-shutdown."""

    def __init__(self, quit_app: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._quit_app = quit_app
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        self._previous = {sig: signal.signal(sig, self._on_signal) for sig in _SIGNALS}

    def _drain(self) -> None:
        # the bytes only woke the loop; Python runs the handler as soon as this returns
        with contextlib.suppress(OSError):
            self._reader.recv(256)

    def _on_signal(self, _signum: int, _frame: object) -> None:
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        QTimer.singleShot(0, self._quit_app)  # queued: not lost before the loop runs

    def close(self) -> None:
        """Stop watching (the signals stay ignored: the tray is shutting down)."""
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()
