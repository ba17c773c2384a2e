"""``make demo-gui``: the demo story of ``python -m sandbox.demo``, shown by the tray on a
virtual desktop, with a screenshot of each step written to a folder.

    python scripts/demo_gui.py [--out demo-shots] [--keep]

Starts Xvfb, a session bus, a notification daemon (dunst) and a panel on a free display
(xfce4-panel, which hosts the tray's StatusNotifierItem, when it is installed; else trayer,
an XEmbed tray), the demo's sandbox (cluster emulator, TLS CDN, supervisord agent, the real
daemon), and the tray in this process; then tells the story through the daemon's API and
saves, per step, the whole screen (the panel icon, the open menu, the notification) and
the windows it opens (history, schedule, settings). Every process it starts is stopped by
its PID. Needs the Debian packages xvfb, xfce4-panel (or trayer), dunst, dbus-x11 and Qt's
xcb libraries (the Makefile installs them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.tray_screenshot import free_display, started, wait_for  # noqa: E402

X_SOCKETS = Path("/tmp/.X11-unix")  # noqa: S108 - where X servers put their sockets


@contextmanager
def desktop() -> Iterator[dict[str, str]]:
    """Xvfb + session bus + dunst + xfce4-panel (else trayer); yields the environment to run
    Qt in."""
    number = free_display()
    env = {k: v for k, v in os.environ.items() if k not in {"QT_QPA_PLATFORM", "WAYLAND_DISPLAY"}}
    env["DISPLAY"] = f":{number}"
    with ExitStack() as stack:
        xvfb = ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"]
        stack.enter_context(started(xvfb, env))
        wait_for((X_SOCKETS / f"X{number}").exists, "Xvfb")
        bus = subprocess.run(
            ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
            capture_output=True, text=True, check=True, env=env,
        )  # fmt: skip
        address, pid = bus.stdout.split()[:2]
        stack.callback(lambda: _kill(int(pid)))
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        if shutil.which("dunst"):
            stack.enter_context(started(["dunst"], env))
        if shutil.which("xfce4-panel"):
            stack.enter_context(_xfce_panel(env))
            yield env
            return
        trayer = [
            "trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width",
            "160", "--height", "28", "--transparent", "false", "--tint", "0x888888",
        ]  # fmt: skip
        stack.enter_context(started(trayer, env))
        yield env


@contextmanager
def _xfce_panel(env: dict[str, str]) -> Iterator[None]:
    """xfce4-panel with Debian's default panels (no window manager here: skip that check),
    up once its notification area owns the StatusNotifierWatcher."""
    with started(["xfce4-panel", "--disable-wm-check"], env):
        wait_for(lambda: _watcher_up(env), "xfce4-panel's StatusNotifierWatcher", 60)
        yield


def _watcher_up(env: dict[str, str]) -> bool:
    asked = subprocess.run(
        ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
         "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
         "string:org.kde.StatusNotifierWatcher"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    return "boolean true" in asked.stdout


def _kill(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, 15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("demo-shots"))
    parser.add_argument("--keep", action="store_true", help="keep the sandbox directory")
    options = parser.parse_args()
    out = options.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="shepherd-demo-gui-"))
    try:
        with desktop() as env:
            os.environ.update(env)
            os.environ.pop("QT_QPA_PLATFORM", None)
            from scripts.demo_gui_story import GuiDemo  # noqa: PLC0415 - Qt after the display

            code = GuiDemo(work, out).run()
    finally:
        if options.keep:
            print(f"the sandbox is kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"screenshots in {out}:")
    for shot in sorted(out.glob("*.png")):
        print(f"  {shot.name}")
    return code


if __name__ == "__main__":
    sys.exit(main())
