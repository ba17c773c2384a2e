"""The tray on a real X display (Xvfb, a panel hosting its icon, dunst): opens the status
window, the update prompt, history and settings, saves a screenshot of each and checks what a person
would see — the window and every widget on the screen, and no text cut short. Run by
``test_desktop_shots.py`` in a child process (the test process's Qt is offscreen):

    python -m tests.gui.desktop_shots SOCKET OUT_DIR    # writes OUT_DIR/report.json

The report: ``{"shots": {name: png}, "problems": [...], "texts": {name: [...]}}``.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QGroupBox,
    QLabel,
    QMessageBox,
    QTableWidget,
    QWidget,
)

from gui.feedback import update_offer
from gui.prompts import update_message_box
from gui.tray import TrayController
from gui.worker import ApiWorker

WAIT_S = 60.0


def wait(app: QApplication, condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        QTest.qWait(20)  # runs Qt's event loop meanwhile, as pytest-qt's waitUntil does


class Checks:
    def __init__(self, app: QApplication, out: Path) -> None:
        self.app = app
        self.out = out
        self.problems: list[str] = []
        self.shots: dict[str, str] = {}
        self.texts: dict[str, list[str]] = {}

    def window(self, name: str, window: QWidget, must_show: list[str]) -> None:
        """Screenshot ``window``; check its geometry and texts; ``must_show``: texts that
        must each be shown whole in one of its labels, buttons or table cells."""
        wait(self.app, window.isVisible, f"the {name} to show")
        for _ in range(10):
            self.app.processEvents()
        screen = (window.screen() or QGuiApplication.primaryScreen()).geometry()
        frame = window.frameGeometry()
        if not screen.contains(frame):
            self.problems.append(f"{name}: the window {_rect(frame)} is outside {_rect(screen)}")
        shown: list[str] = []
        for widget in [window, *window.findChildren(QWidget)]:
            if not widget.isVisible():
                continue
            seen = widget.visibleRegion().boundingRect()
            if not seen.isEmpty():
                at = QRect(widget.mapToGlobal(seen.topLeft()), seen.size())
                if not screen.contains(at):
                    self.problems.append(f"{name}: {_who(widget)} at {_rect(at)} is off screen")
            shown += self._whole_texts(name, widget)
        self.texts[name] = shown
        for text in must_show:
            if not any(text in line for line in shown):
                self.problems.append(f"{name}: {text!r} is not shown whole")
        path = self.out / f"{name}.png"
        window.grab().save(str(path))
        self.shots[name] = str(path)
        image = QImage(str(path))
        if image.isNull() or image.width() < 100 or image.height() < 60:
            self.problems.append(f"{name}: the screenshot is empty or tiny")
        elif _drawn_share(image) < 0.01:
            self.problems.append(f"{name}: the screenshot is nearly blank")

    def _whole_texts(self, name: str, widget: QWidget) -> list[str]:
        """The texts ``widget`` shows in full; a text cut short is a problem. A widget
        partly scrolled out of view shows nothing whole (that is not a problem by itself:
        ``must_show`` says what has to be in view)."""
        texts = self._laid_out_texts(name, widget)
        in_view = widget.visibleRegion().boundingRect() == widget.rect()
        return texts if in_view or isinstance(widget, QTableWidget) else []

    def _laid_out_texts(self, name: str, widget: QWidget) -> list[str]:
        metrics = widget.fontMetrics()
        if isinstance(widget, QLabel) and widget.text() and not widget.pixmap():
            text = widget.text()
            if widget.textFormat().name == "RichText" or "<" in text:
                return [text]  # laid out by a text document that wraps it
            width = widget.contentsRect().width()
            if widget.wordWrap():
                fits = widget.heightForWidth(widget.width()) <= widget.height() + 1
                fits = fits and all(metrics.horizontalAdvance(w) <= width for w in text.split())
            else:
                fits = all(metrics.horizontalAdvance(line) <= width for line in text.split("\n"))
            if not fits:
                self.problems.append(f"{name}: the label {text!r} is cut short")
                return []
            return [text]
        if isinstance(widget, QAbstractButton) and widget.text():
            text = widget.text().replace("&", "")
            if metrics.horizontalAdvance(text) + 8 > widget.width():
                self.problems.append(f"{name}: the button {text!r} is cut short")
                return []
            return [text]
        if isinstance(widget, QTableWidget):
            return self._cells(name, widget)
        if isinstance(widget, QGroupBox) and widget.title():
            if metrics.horizontalAdvance(widget.title()) + 16 > widget.width():
                self.problems.append(f"{name}: the title {widget.title()!r} is cut short")
                return []
            return [widget.title()]
        return []

    def _cells(self, name: str, table: QTableWidget) -> list[str]:
        texts = []
        metrics = table.fontMetrics()
        for row in range(table.rowCount()):
            for column in range(table.columnCount()):
                item = table.item(row, column)
                if item is None or not item.text():
                    continue
                width = table.columnWidth(column) - 8
                text = item.text()
                if any(metrics.horizontalAdvance(w) > width for w in text.split()):
                    heading = table.horizontalHeaderItem(column)
                    column_name = heading.text() if heading else column
                    self.problems.append(f"{name}: {column_name} {text!r} is cut short")
                else:
                    texts.append(text)
        return texts


def _drawn_share(image: QImage) -> float:
    """The share of sampled pixels not of the picture's commonest colour (its background)."""
    step_x, step_y = max(1, image.width() // 200), max(1, image.height() // 200)
    pixels = [
        image.pixel(x, y)
        for x in range(0, image.width(), step_x)
        for y in range(0, image.height(), step_y)
    ]
    _background, count = Counter(pixels).most_common(1)[0]
    return 1 - count / len(pixels)


def _who(widget: QWidget) -> str:
    return f"{type(widget).__name__} {widget.objectName() or ''}".strip()


def _rect(rect: QRect) -> str:
    return f"{rect.width()}x{rect.height()}+{rect.x()}+{rect.y()}"


def run(socket_path: Path, out: Path) -> dict[str, Any]:
    app = QApplication(sys.argv[:1])
    worker = ApiWorker(socket_path)
    controller = TrayController(worker)
    checks = Checks(app, out)
    if controller.tray is None and controller.sni is None:
        checks.problems.append("no tray icon: the panel's tray host was not seen")
    worker.start()
    controller.show()
    try:
        view = lambda: controller.view  # noqa: E731
        wait(app, lambda: len(view().agents) == 2 and all(a.busy is None for a in view().agents),
             "the two agents")  # fmt: skip
        offered = next(a for a in view().agents if a.offered)
        updated = next(a for a in view().agents if a is not offered)

        controller.open_status()
        status = controller.status_window or controller.window
        assert status is not None
        wait(app, lambda: status.strip.strip is not None, "the week strip")
        checks.window(
            "status-window",
            status,
            [f"{offered.name} — {offered.version}", f"{updated.name} — {updated.version}",
             f"offered: {offered.offered}", status.next_update.text()],
        )  # fmt: skip
        screen = QGuiApplication.primaryScreen().grabWindow(0)
        screen.save(str(out / "desktop.png"))
        checks.shots["desktop"] = str(out / "desktop.png")

        box, _ = update_message_box(update_offer(offered))
        box.setModal(False)
        box.show()
        checks.window(
            "update-prompt",
            box,
            ["Install now", "At the next window", "Skip this version"],
        )
        prompt_text = box.text()
        if str(offered.offered) not in prompt_text:
            checks.problems.append(f"update-prompt: it does not name {offered.offered}")
        box.done(QMessageBox.StandardButton.Close.value)

        controller.open_history()
        history = controller.history
        assert history is not None
        wait(app, lambda: history.table.rowCount() > 0, "the history")
        checks.window("history", history, [f"{offered.version} → {updated.version}"])

        controller.open_settings()
        settings = controller.settings
        assert settings is not None
        wait(app, lambda: bool(settings.edits), "the settings")
        settings.edits["download.base_url"].setText("http://mirror.example")
        settings.save()
        error = settings.errors["download.base_url"]
        wait(app, lambda: error.isVisible() and bool(error.text()), "the refusal reason")
        checks.window("settings", settings, [error.text()])
        if "https" not in error.text():
            checks.problems.append(f"settings: the reason is not said: {error.text()!r}")
    finally:
        worker.stop()
        controller.dispose()
    return {"shots": checks.shots, "problems": checks.problems, "texts": checks.texts}


def main() -> int:
    socket_path, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    report = run(socket_path, out)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
