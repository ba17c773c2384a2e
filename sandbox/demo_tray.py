"""The tray app beside the demo, when there is a desktop to show it on.

``make demo`` starts ``shepherd-tray`` (``python -m gui.app``) against the demo's daemon
when ``DISPLAY`` or ``WAYLAND_DISPLAY`` is set and PySide6 is installed, so a newcomer sees
the story told by the tray too: its icon changing, the status window on a left click, the
notifications. It runs as a second instance beside any tray of the user's own (its
single-instance socket is in the demo's directory) and is stopped, by its PID, when the
demo ends.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sandbox.narration import say

__all__ = ["demo_tray", "desktop_available"]

REPO = Path(__file__).resolve().parents[1]


def desktop_available(env: Mapping[str, str]) -> bool:
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


@contextmanager
def demo_tray(socket: Path, work: Path, *, wanted: bool = True) -> Iterator[Path | None]:
    """The tray, started against ``socket`` if it can be shown; yields its log (or None)."""
    if not wanted or not desktop_available(os.environ):
        yield None
        return
    if importlib.util.find_spec("PySide6") is None:
        say("(A desktop is there, but PySide6 is not installed: the tray app is not shown.)")
        yield None
        return
    env = dict(os.environ)
    runtime = env.get("XDG_RUNTIME_DIR")
    if "DBUS_SESSION_BUS_ADDRESS" not in env and runtime and (Path(runtime) / "bus").exists():
        env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={Path(runtime) / 'bus'}"
    tray_runtime = work / "tray-runtime"
    tray_runtime.mkdir(mode=0o700, exist_ok=True)
    env["XDG_RUNTIME_DIR"] = str(tray_runtime)  # its own single-instance socket
    log = work / "tray.log"
    tray = subprocess.Popen(
        [sys.executable, "-m", "gui.app", "--socket", str(socket), "--log-file", str(log)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    say("The tray app tells the same story on your desktop: watch its icon (left-click it for "
        "the status window and its week strip).")  # fmt: skip
    try:
        yield log
    finally:
        if tray.poll() is None:
            tray.terminate()
            try:
                tray.wait(30)
            except subprocess.TimeoutExpired:
                tray.kill()
                tray.wait()
