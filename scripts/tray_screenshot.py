"""Screenshots of the tray app on a virtual desktop (not part of the test suite).

    python scripts/tray_screenshot.py [--socket /run/shepherd/api.sock] [--out shots/]

Starts Xvfb and an XEmbed tray host (trayer) on a free display, runs the tray against the
daemon at --socket (without one it shows the daemon-down state), and writes:
tray.png (the panel with the icon), menu.png (the context menu open) and window.png
(the fallback window). Needs the Debian packages xvfb and trayer, and Qt's xcb libraries
(libxcb-icccm4 and friends). Every process it starts is stopped by its PID.
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from engine.api.client import default_socket
from gui.tray import TrayController
from gui.worker import ApiWorker


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        pause.wait(0.05)


@contextmanager
def started(
    argv: list[str], env: dict[str, str], pass_fds: tuple[int, ...] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=pass_fds
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


@contextmanager
def xvfb(env: dict[str, str], size: str = "1024x768x24", timeout: float = 30.0) -> Iterator[str]:
    """An Xvfb that picks a free display itself (``-displayfd``: no race with another X
    server starting at the same time); yields its DISPLAY, e.g. ``:1``."""
    read_end, write_end = os.pipe()
    argv = ["Xvfb", "-displayfd", str(write_end), "-screen", "0", size, "-nolisten", "tcp"]
    try:
        with started(argv, env, pass_fds=(write_end,)) as process:
            os.close(write_end)
            write_end = -1
            number = b""
            deadline = time.monotonic() + timeout
            while not number.endswith(b"\n"):
                left = deadline - time.monotonic()
                ready, _, _ = select.select([read_end], [], [], max(left, 0))
                chunk = os.read(read_end, 16) if ready else b""
                if not chunk:
                    code = process.poll()
                    raise SystemExit(f"Xvfb gave no display number (exit {code})")
                number += chunk
            yield f":{int(number)}"
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--socket", type=Path, default=default_socket())
    parser.add_argument("--out", type=Path, default=Path("shots"))
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    trayer = [
        "trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width",
        "160", "--height", "28", "--transparent", "false", "--tint", "0x888888",
    ]  # fmt: skip
    with xvfb(env) as display:
        env["DISPLAY"] = display
        with started(trayer, env):
            os.environ["DISPLAY"] = env["DISPLAY"]
            os.environ.pop("QT_QPA_PLATFORM", None)
            return shoot(options.socket, options.out)


def shoot(socket_path: Path, out: Path) -> int:
    app = QApplication(["shepherd-tray"])

    def tray_ready() -> bool:
        app.processEvents()
        return QSystemTrayIcon.isSystemTrayAvailable()

    wait_for(tray_ready, "the tray host")
    worker = ApiWorker(socket_path, retry_seconds=0.5)
    controller = TrayController(worker, use_tray=True)
    views: list[object] = []
    controller.view_changed.connect(views.append)
    worker.start()
    try:
        controller.show()

        def settled() -> bool:
            app.processEvents()
            return bool(views)

        wait_for(settled, "the first status from the daemon")
        for _ in range(20):
            app.processEvents()
        screen = app.primaryScreen()
        screen.grabWindow(0).save(str(out / "tray.png"))
        geometry = controller.tray.geometry() if controller.tray else None
        at = geometry.bottomLeft() if geometry and geometry.isValid() else QPoint(800, 30)
        controller.menu.popup(at)
        wait_for(lambda: (app.processEvents(), controller.menu.isVisible())[1], "the menu")
        for _ in range(20):
            app.processEvents()
        screen.grabWindow(0).save(str(out / "menu.png"))
        controller.menu.hide()
        window_controller = TrayController(worker, use_tray=False)
        window_controller.show_view(controller.view)  # same view, drawn in the fallback window
        window = window_controller.window
        if window is not None:
            window.show()
            wait_for(lambda: (app.processEvents(), window.isVisible())[1], "window")
            for _ in range(20):
                app.processEvents()
            window.grab().save(str(out / "window.png"))
        window_controller.close()
    finally:
        worker.stop()
        controller.close()
    print(f"wrote {out}/tray.png, menu.png, window.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
