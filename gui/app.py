"""``shepherd-tray``: the desktop face of the Shepherd daemon.

    shepherd-tray [--socket /run/shepherd/api.sock] [--window] [--log-file PATH]
                  [Qt options: -style fusion, -platform xcb ...]
    shepherd-tray --autostart on|off     # start at this user's login, or not

One tray per session: a second start asks the running one to show itself and exits.
Builds the object graph once (worker -> controller) and runs Qt's event loop. Nothing
ticks while it idles: the worker follows the daemon's event stream, and SIGINT / SIGTERM
wake the loop through a socket. On quit the worker's threads are stopped and joined and
every Qt object is deleted before the application.
"""

from __future__ import annotations

import argparse
import linecache
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


class _KeepNothing(dict[str, Any]):
    def __setitem__(self, key: str, value: Any) -> None:
        # a lazy loader's entry (a 1-tuple) is read back at once by linecache (in a frozen
        # build, where no source file is on disk): keep those, drop the lines themselves
        if isinstance(value, tuple) and len(value) == 1:
            super().__setitem__(key, value)


# PySide6 reads the source of each module imported after it (inspect.getsource, looking for
# its __feature__ switches) and linecache would keep every line of them: ~4 MB resident
_kept_lines, linecache.cache = linecache.cache, _KeepNothing()

from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.api.client import default_socket, shepherd_version  # noqa: E402
from gui.autostart import set_autostart  # noqa: E402
from gui.quit_signals import QuitOnSignals  # noqa: E402
from gui.single_instance import SingleInstance  # noqa: E402
from gui.tray import TrayController  # noqa: E402
from gui.tray_log import start_logging  # noqa: E402
from gui.worker import ApiWorker  # noqa: E402

linecache.cache = _kept_lines

__all__ = ["build", "main"]

_log = logging.getLogger("shepherd.tray")


class _PrintVersion(argparse.Action):
    """``--version``, finding the version only when asked (not at every start)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"shepherd-tray {shepherd_version()}")  # on stdout, as argparse's own action
        parser.exit()


def _arguments(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """Our options, and the rest for Qt (``-style fusion``, ``-platform xcb``, ...)."""
    parser = argparse.ArgumentParser(
        prog="shepherd-tray",
        description="The desktop face of the Shepherd daemon: a tray icon (or a small window) "
        "showing this host's Teleport agents, with check, update, pause and rollback. "
        "Options Qt knows (-style fusion, -platform xcb, ...) are passed to Qt.",
    )
    parser.add_argument("--version", action=_PrintVersion, help="show the version and exit")
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
    parser.add_argument(
        "--autostart",
        choices=("on", "off"),
        help="start the tray at this user's login (on) or not (off), then exit",
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
    if options.autostart:
        path = set_autostart(options.autostart == "on")
        print(f"autostart {options.autostart}: {path}")
        return 0
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
