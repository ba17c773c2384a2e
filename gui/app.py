"""``shepherd-tray``: the desktop face of the Shepherd daemon.

    shepherd-tray [--socket /run/shepherd/api.sock] [--poll 5] [--window]
    shepherd-tray --autostart on|off     # start at this user's login, or not

Builds the object graph once (worker -> controller) and runs Qt's event loop; on quit the
worker's threads are stopped and joined.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from engine.api.client import default_socket, shepherd_version
from gui.autostart import set_autostart
from gui.tray import TrayController
from gui.worker import ApiWorker

__all__ = ["build", "main"]


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="shepherd-tray",
        description="The desktop face of the Shepherd daemon: a tray icon (or a small window) "
        "showing this host's Teleport agents, with check, update, pause and rollback.",
    )
    parser.add_argument(
        "--version", action="version", version=f"shepherd-tray {shepherd_version()}"
    )
    parser.add_argument("--socket", type=Path, default=None, help="the daemon's API socket")
    parser.add_argument(
        "--poll", type=float, default=5.0, help="seconds between status polls (default 5)"
    )
    parser.add_argument(
        "--window", action="store_true", help="show a window even when a system tray exists"
    )
    parser.add_argument(
        "--autostart",
        choices=("on", "off"),
        help="start the tray at this user's login (on) or not (off), then exit",
    )
    return parser.parse_args(argv)


def build(
    socket_path: Path | None, *, poll_seconds: float = 5.0, use_tray: bool | None = None
) -> tuple[ApiWorker, TrayController]:
    """The worker and the controller, wired; nothing started yet."""
    worker = ApiWorker(socket_path or default_socket(), poll_seconds=poll_seconds)
    controller = TrayController(worker, use_tray=use_tray)
    return worker, controller


def main(argv: Sequence[str] | None = None) -> int:
    options = _arguments(argv)
    if options.autostart:
        path = set_autostart(options.autostart == "on")
        print(f"autostart {options.autostart}: {path}")
        return 0
    app = QApplication(sys.argv[:1])
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
