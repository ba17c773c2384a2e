"""``shepherd-tray``: the desktop face of the Shepherd daemon.

    shepherd-tray [--socket /run/shepherd/api.sock] [--window] [--log-file PATH]
                  [Qt options: -style fusion, -platform xcb ...]

One tray per session: a second start asks the running one to show itself and exits.
Builds the object graph once (worker -> controller) and runs Qt's event loop. Nothing
ticks while it idles: the worker follows the daemon's event stream, and SIGINT / SIGTERM
wake the loop through a socket. On quit the worker's threads are stopped and joined and
every Qt object is deleted before the application.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

# httpx imports its own command line (rich, click, pygments: ~10 MB resident) whenever they
# are installed; the tray never runs it, and httpx does without it when it cannot be found
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.api.client import default_socket  # noqa: E402
from gui.quit_signals import QuitOnSignals  # noqa: E402
from gui.single_instance import SingleInstance  # noqa: E402
from gui.tray import TrayController  # noqa: E402
from gui.tray_log import start_logging  # noqa: E402
from gui.worker import ApiWorker  # noqa: E402

__all__ = ["build", "main"]

_log = logging.getLogger("shepherd.tray")


def _arguments(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """Our options, and the rest for Qt (``-style fusion``, ``-platform xcb``, ...)."""
    parser = argparse.ArgumentParser(prog="shepherd-tray", description=__doc__.split("\n")[0])
    parser.add_argument("--socket", type=Path, default=None, help="the daemon's API socket")
    parser.add_argument(
        "--window", action="store_true", help="show a window even when a system tray exists"
    )
    parser.add_argument(
        "--log-file",
        type=Path,
        default=None,
        help="the tray's log (default: $XDG_STATE_HOME/shepherd/tray.log)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="log every request the tray makes, too"
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
    socket_path: Path | None, *, use_tray: bool | None = None
) -> tuple[ApiWorker, TrayController]:
    """The worker and the controller, wired; nothing started yet."""
    worker = ApiWorker(socket_path or default_socket())
    controller = TrayController(worker, use_tray=use_tray)
    return worker, controller


def main(argv: Sequence[str] | None = None) -> int:
    options, qt_options = _arguments(argv)
    log_path = start_logging(options.log_file)
    if options.verbose:
        _log.setLevel(logging.DEBUG)
    app = _application(qt_options, options.error)
    app.setApplicationName("Shepherd")
    app.setQuitOnLastWindowClosed(False)
    instance = SingleInstance.claim()
    if instance is None:
        _log.info("already running in this session: asked it to show itself")
        return 0
    worker, controller = build(options.socket, use_tray=False if options.window else None)
    controller.log_path = log_path
    if controller.window is not None:
        app.setQuitOnLastWindowClosed(True)
    app.aboutToQuit.connect(worker.stop)
    app.aboutToQuit.connect(controller.close)
    signals = QuitOnSignals(app.quit)
    instance.show_requested.connect(controller.session.present)
    _log.info("started (pid %d), daemon socket %s", os.getpid(), worker.client.socket_path)
    worker.start()
    controller.show()
    code = app.exec()
    signals.close()
    instance.close()
    worker.stop()  # already stopped by aboutToQuit; again in case exec() ended otherwise
    controller.dispose()
    del controller, worker, signals, instance
    _log.info("quit (exit code %d)", code)
    return code


if __name__ == "__main__":
    sys.exit(main())
