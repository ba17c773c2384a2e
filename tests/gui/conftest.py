"""The tray app under real Qt, offscreen (no display, no tray host: the fallback window)."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from tests.gui.test_tray_daemon import tray  # noqa: F401 - the tray fixture, for every module
