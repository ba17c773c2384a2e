"""``shepherd-tray``: the desktop face of the Shepherd daemon.

    shepherd-tray [--socket /run/shepherd/api.sock] [--poll 5] [Qt options: -style fusion ...]

Builds the object graph once (worker -> controller) and runs Qt's event loop; on quit the
worker's threads are stopped and joined.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from engine.api.client import default_socket
from gui.tray import TrayController
from gui.worker import ApiWorker

__all__ = ["build", "main"]


def _arguments(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """Our options, and the rest for Qt (``-style fusion``, ``-platform xcb``, ...)."""
    parser = argparse.ArgumentParser(prog="shepherd-tray", description=__doc__.split("\n")[0])
    parser.add_argument("--socket", type=Path, default=None, help="the daemon's API socket")
    parser.add_argument(
        "--poll", type=float, default=5.0, help="seconds between status polls (default 5)"
    )
    parser.add_argument(
        "--window", action="store_true", help="show a window even when a system tray exists"
    )
    options, rest = parser.parse_known_args(argv)
    options.error = parser.error
    return options, rest


def _application(qt_options: list[str], error: Callable[[str], object]) -> QApplication:
    """The QApplication, given Qt's own options; what Qt does not take either is an error."""
    app = QApplication([sys.argv[0], *qt_options])
    unknown = app.arguments()[1:]
    if unknown:
        error(f"unrecognized arguments: {' '.join(unknown)}")
    return app


def build(
    socket_path: Path | None, *, poll_seconds: float = 5.0, use_tray: bool | None = None
) -> tuple[ApiWorker, TrayController]:
    """The worker and the controller, wired; nothing started yet."""
    worker = ApiWorker(socket_path or default_socket(), poll_seconds=poll_seconds)
    controller = TrayController(worker, use_tray=use_tray)
    return worker, controller


def main(argv: Sequence[str] | None = None) -> int:
    options, qt_options = _arguments(argv)
    app = _application(qt_options, options.error)
    app.setApplicationName("Shepherd")
    app.setQuitOnLastWindowClosed(False)
    worker, controller = build(
        options.socket, poll_seconds=options.poll, use_tray=False if options.window else None
    )
    if controller.window is not None:
        app.setQuitOnLastWindowClosed(True)
    app.aboutToQuit.connect(worker.stop)
    app.aboutToQuit.connect(controller.close)

    # Ctrl-C in a terminal: let Python see the signal between Qt events. Once quitting,
    # further Ctrl-Cs are ignored so they cannot kill the process while it shuts down.
    def quit_once(*_: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        QTimer.singleShot(0, app.quit)  # queued: not lost if the event loop is not running yet

    signal.signal(signal.SIGINT, quit_once)
    ticker = QTimer()
    ticker.start(500)
    ticker.timeout.connect(lambda: None)
    worker.start()
    controller.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
