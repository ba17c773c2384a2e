"""The demo story told by the tray (for scripts/demo_gui.py, under a display): the same
sandbox and steps as ``sandbox.demo``, driven through the daemon's API, each step shot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

from engine.api.client import ApiClient
from gui.tray import TrayController
from gui.viewmodel import Notice, TrayView
from gui.worker import ApiWorker
from sandbox.demo import Demo
from sandbox.emulator import ClusterEmulator
from sandbox.narration import say
from scripts.tray_screenshot import wait_for

SETTLE_ROUNDS = 30


class GuiDemo(Demo):
    def __init__(self, work: Path, out: Path) -> None:
        super().__init__(work)
        self.out = out
        self.step = 0

    # ---- the tray and the shots ---------------------------------------------------------
    def _story(self, cluster: ClusterEmulator) -> None:
        self.app = QApplication(["shepherd-tray"])
        wait_for(self._pump_until(QSystemTrayIcon.isSystemTrayAvailable), "the tray host")
        self.worker = ApiWorker(self.socket, retry_seconds=0.5)
        self.tray = TrayController(self.worker, use_tray=True)
        self.shown: list[str] = []  # the titles of the notifications on screen
        desktop = self.tray.desktop
        if desktop is not None:  # the notification server took it
            desktop.notifier.shown.connect(lambda _id, n: self.shown.append(n.title))

        def by_qt(notice: Notice) -> None:  # no server: Qt's own balloon or the window
            if desktop is None or not desktop.notifier.available:
                self.shown.append(notice.title)

        self.tray.notified.connect(by_qt)
        self.api = ApiClient(self.socket, timeout=300)
        self.worker.start()
        self.tray.show()
        try:
            wait_for(self._pump_until(lambda: bool(self.tray.view.agents)), "the first status")
            self._tell(cluster)
        finally:
            self.worker.stop()
            self.tray.dispose()

    def _pump_until(self, condition: Callable[[], bool]) -> Callable[[], bool]:
        def pumped() -> bool:
            self.app.processEvents()
            return condition()

        return pumped

    def _settle(self) -> None:
        for _ in range(SETTLE_ROUNDS):
            self.app.processEvents()

    def _wait_view(self, what: str, predicate: Callable[[TrayView], bool]) -> None:
        self.worker.refresh()
        wait_for(self._pump_until(lambda: predicate(self.tray.view)), what, timeout=300)

    def _wait_notice(self, title: str) -> None:
        wait_for(self._pump_until(lambda: title in self.shown), f"the {title!r} notice", 120)

    def shot(self, name: str, *, menu: bool = False) -> None:
        """The whole screen (panel icon, notification), with the menu open if asked."""
        self.step += 1
        if menu and not self._open_menu():
            print(f"  (the menu did not open for {name}: shot skipped)", flush=True)
            return
        self._settle()
        path = self.out / f"{self.step:02d}-{name}.png"
        self.app.primaryScreen().grabWindow(0).save(str(path))
        if menu:
            self.tray.menu.hide()
        print(f"  [screenshot] {path.name}", flush=True)

    def _open_menu(self) -> bool:
        geometry = self.tray.tray.geometry() if self.tray.tray else None
        at = geometry.bottomLeft() if geometry and geometry.isValid() else QPoint(1100, 30)
        for _ in range(3):  # a notification balloon being shown can close a popup at once
            self._settle()
            self.tray.menu.popup(at)
            try:
                wait_for(self._pump_until(self.tray.menu.isVisible), "the menu", timeout=3)
            except SystemExit:
                continue
            return True
        return False

    def window_shot(self, name: str, window: QWidget | None) -> None:
        if window is None:
            raise SystemExit(f"the tray opened no {name}")
        wait_for(self._pump_until(window.isVisible), name)
        self._settle()
        self.step += 1
        path = self.out / f"{self.step:02d}-{name}.png"
        window.grab().save(str(path))
        print(f"  [screenshot] {path.name}", flush=True)

    # ---- the story ----------------------------------------------------------------------
    def _tell(self, cluster: ClusterEmulator) -> None:
        say("1. The agent runs 17.1.0; the cluster wants 17.2.1 behind a closed window.")
        self.shot("waiting-icon")
        self.shot("waiting-menu", menu=True)

        say("2. The cluster opens the window: Shepherd updates to 17.2.1 and says so.")
        cluster.set_group("default", in_window=True)
        self.api.post("/v1/agents/default/check")
        self._wait_view("17.2.1", lambda v: bool(v.agents) and v.agents[0].version == "17.2.1")
        self._wait_notice("Agent updated")
        self.shot("updated-notification")
        self.shot("updated-menu", menu=True)

        say("3. The admin rolls 17.2.1 back by hand; it is remembered as bad.")
        self.api.post("/v1/agents/default/rollback", {"reason": "demo: roll back by hand"})
        self._wait_view("17.1.0", lambda v: bool(v.agents) and v.agents[0].version == "17.1.0")
        self._wait_notice("Rolled back")
        self.shot("rolled-back-notification")
        self.shot("rolled-back-menu", menu=True)

        say("4. The cluster moves to 17.3.0, which crashes at start: automatic rollback.")
        cluster.set_cluster(server_version="17.3.0")
        cluster.set_group("default", version="17.3.0")
        self.api.post("/v1/agents/default/update", {"now": True})
        self._wait_view("the failed update", lambda v: v.agents[0].busy is None)
        self.shot("automatic-rollback")

        say("5. The history, the schedule and the settings windows.")
        self.tray.open_history()
        history = self.tray.history
        if history is None:
            raise SystemExit("the tray opened no history window")
        wait_for(self._pump_until(lambda: history.table.rowCount() > 0), "the history")
        self.window_shot("history-window", history)
        self.tray.open_schedule()
        self.window_shot("schedule-window", self.tray.schedule)
        self.tray.open_settings()
        settings = self.tray.settings
        if settings is None:
            raise SystemExit("the tray opened no settings dialog")
        wait_for(self._pump_until(lambda: bool(settings.edits)), "the settings")
        self.window_shot("settings-dialog", settings)
