"""The cause of the tray's aborts on quit ("Fatal Python error: bool_dealloc /
none_dealloc"): PySide6 6.12.0 on Python 3.11 drops a reference to the None or bool it
returns from every call (signal emits, void methods), so after a long session the
interpreter frees True or None itself. pyproject excludes that release; this test fails on
any Qt binding that leaks them again."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from pytestqt.qtbot import QtBot

CALLS = 2_000


class Emitter(QObject):
    changed = Signal(object)


def refcounts() -> tuple[int, int, int]:
    return sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)


def test_signal_emits_and_void_calls_keep_none_and_bools_alive(qtbot: QtBot) -> None:
    emitter = Emitter()
    received = [0]
    emitter.changed.connect(lambda _value: received.__setitem__(0, received[0] + 1))
    action = QAction("x")
    action.triggered.connect(lambda _checked=False: None)
    timer = QTimer()
    for _ in range(10):  # warm-up: caches fill on the first calls
        emitter.changed.emit(None)
        action.trigger()
        timer.setInterval(5)
    received[0] = 0
    before = refcounts()
    for index in range(CALLS):
        emitter.changed.emit(index % 2 == 0)
        action.trigger()
        timer.setInterval(5)
    after = refcounts()
    assert received[0] == CALLS
    drift = [b - a for a, b in zip(before, after, strict=True)]
    assert all(abs(d) < 50 for d in drift), f"None/True/False references drifted by {drift}"
