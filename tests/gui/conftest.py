"""The tray app under real Qt, offscreen (no display, no tray host: the fallback window),
on one 1280x800 screen (a small laptop's; Qt's offscreen default is 800x800)."""

from __future__ import annotations

import os
from pathlib import Path

SCREEN = Path(__file__).with_name("offscreen-screen.json")
os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={SCREEN}"

from tests.gui.test_tray_daemon import tray  # noqa: E402, F401 - the tray fixture, for every module
