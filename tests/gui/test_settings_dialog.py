"""The settings dialog against a REAL daemon: its fields are the daemon's settings schema
(a key added to the daemon's declaration appears, labelled, with no change to the GUI),
and a refused value's reason shows in full beside the field of its key."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from gui.views.settings_dialog import SettingsDialog, contrast, error_colour
from gui.windows_model import WindowRow
from gui.worker import ApiWorker
from sandbox.emulator import ClusterEmulator
from tests.fixtures.daemon import RunningDaemon, start_daemon
from tests.fixtures.sandboxhost import SandboxHost

pytestmark = pytest.mark.integration

WAIT_MS = 60_000

# The daemon process with one option more in its declaration than this checkout has: the
# dialog must show it without knowing it.
GROWN_DAEMON = """\
import sys
from engine.settings import schema
from engine.settings.kinds import Bool
schema.OPTIONS = (*schema.OPTIONS, schema.Option(
    "notifications.on_blocked", "Notify when blocked", Bool(), True,
    "Notify when an update is blocked by a window or a canary."))
from engine.cli.main import main
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.fixture
def grown_daemon(sandbox_host: SandboxHost, cluster: ClusterEmulator) -> Iterator[RunningDaemon]:
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    daemon = start_daemon(sandbox_host, cluster, launcher=("-c", GROWN_DAEMON))
    try:
        yield daemon
    finally:
        daemon.stop(signal.SIGTERM)


@contextmanager
def open_dialog(qtbot: QtBot, daemon: RunningDaemon) -> Iterator[SettingsDialog]:
    worker = ApiWorker(daemon.socket)
    dialog = SettingsDialog(worker)
    qtbot.addWidget(dialog)
    dialog.show()
    try:
        with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS):
            dialog.reload()
        yield dialog
    finally:
        worker.stop()


@pytest.fixture
def dialog(qtbot: QtBot, shepherd_daemon: RunningDaemon) -> Iterator[SettingsDialog]:
    with open_dialog(qtbot, shepherd_daemon) as opened:
        yield opened


def test_the_fields_are_the_daemons_schema_and_a_new_key_appears_labelled(
    qtbot: QtBot, grown_daemon: RunningDaemon
) -> None:
    schema = grown_daemon.api.get("/v1/settings/schema")
    options = schema["options"]
    assert options[-1]["key"] == "notifications.on_blocked"  # the daemon really has it
    expected = [o["key"] for o in options if o["scope"] == "host"] + [
        o["key"].replace("agents.*.", "agents.default.") for o in options if o["scope"] == "agent"
    ]
    with open_dialog(qtbot, grown_daemon) as dialog:
        assert list(dialog.edits) == expected
        for option in options:
            if option["scope"] == "host":
                assert dialog.row_label(option["key"]) == option["label"]
                assert dialog.edits[option["key"]].toolTip() == option["help"]
        assert dialog.row_label("download.base_url") == "Custom CDN"
        assert dialog.row_label("agents.default.proxy") == "Cluster proxy (default)"
        new = dialog.edits["notifications.on_blocked"]
        assert dialog.row_label("notifications.on_blocked") == "Notify when blocked"
        assert new.placeholderText() == "default: true"
        qtbot.waitUntil(lambda: new.isVisibleTo(dialog), timeout=WAIT_MS)
        assert dialog.edits["canary.soak"].placeholderText() == "default: 1h"
        assert list(dialog.secret_edits) == schema["secrets"]


def fits(label: QLabel) -> bool:
    """The whole (wrapped) text is inside the label, and the label inside the dialog."""
    rect = label.contentsRect()
    needed = label.fontMetrics().boundingRect(
        QRect(0, 0, rect.width(), 100_000), int(Qt.TextFlag.TextWordWrap), label.text()
    )
    window = label.window()
    right = label.mapTo(window, rect.topRight()).x()
    return rect.width() > 0 and needed.height() <= rect.height() and right <= window.width()


def test_each_refused_value_shows_its_reason_in_full_beside_the_field_of_its_key(
    qtbot: QtBot, dialog: SettingsDialog, shepherd_daemon: RunningDaemon
) -> None:
    before = shepherd_daemon.api.get("/v1/settings")["settings"]
    dialog.edits["canary.soak"].setText("2h")
    dialog.edits["download.base_url"].setText("http://mirror.example")
    dialog.edits["agents.default.windows"].setText("someday 02:00 1h")
    with qtbot.waitSignal(dialog.refused, timeout=WAIT_MS):
        dialog.save()
    cdn = dialog.errors["download.base_url"]
    windows = dialog.errors["agents.default.windows"]
    assert cdn.text() == (
        "Custom CDN: must use https:// — you entered “http://mirror.example” (download.base_url)"
    )
    assert windows.text().startswith("Maintenance windows: window 1: ")
    assert "unknown weekday 'someday'" in windows.text()
    for label in (cdn, windows):
        assert label.isVisibleTo(dialog)
        qtbot.waitUntil(lambda label=label: fits(label), timeout=WAIT_MS)
    shown = [key for key, label in dialog.errors.items() if label.isVisibleTo(dialog)]
    assert shown == ["download.base_url", "agents.default.windows"]
    assert "nothing was changed" in dialog.message.text()
    assert shepherd_daemon.api.get("/v1/settings")["settings"] == before

    dialog.edits["download.base_url"].setText("https://mirror.example")
    dialog.edits["agents.default.windows"].setText("sat 02:00 1h")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        dialog.save()
    assert not any(label.isVisibleTo(dialog) for label in dialog.errors.values())
    saved = shepherd_daemon.api.get("/v1/settings")["settings"]
    assert saved["host"]["canary.soak"] == "2h"
    assert saved["agents"]["default"]["windows"][0]["days"] == ["sat"]
    assert dialog.edits["agents.default.windows"].text() == "sat 02:00 1h UTC"


def test_sections_show_what_the_daemon_uses_and_where_it_comes_from(
    qtbot: QtBot, dialog: SettingsDialog, shepherd_daemon: RunningDaemon
) -> None:
    host = shepherd_daemon.host
    assert dialog.section_title("agents.default.proxy") == "Cluster (default) — administrator"
    assert dialog.section_title("download.base_url") == "Downloads — administrator"
    assert dialog.section_title("network.http_proxy") == "Network — administrator"
    assert dialog.section_title("notifications.on_update") == "Notifications"
    assert dialog.section_title("agents.default.windows") == "Maintenance windows and blackouts"
    boxes = list(dialog.sections)
    assert boxes[0] == "Cluster (default)" and boxes[-1] == "Secrets (write-only)"
    # the daemon runs with --base-url and --ca-bundle: they win, and the dialog says so
    assert dialog.edits["download.base_url"].text() == ""
    assert dialog.in_use["download.base_url"].text() == (
        f"in use: {host.cdn.base_url} — from command line"
    )
    assert dialog.in_use["network.ca_bundle"].text() == (
        f"in use: {host.ca.ca_path} — from command line"
    )
    # the cluster proxy is update.yaml's (teleport-update's), not empty
    assert dialog.edits["agents.default.proxy"].text() == ""
    proxy = shepherd_daemon.cluster.proxy_addr
    assert dialog.in_use["agents.default.proxy"].text() == f"in use: {proxy} — from update.yaml"
    assert dialog.focusWidget() is dialog.edits["agents.default.group"]  # the first field


@pytest.mark.parametrize("window", ["#ffffff", "#efefef", "#2b2b2b", "#1e1e1e"])
def test_errors_are_readable_on_light_and_dark_windows(window: str) -> None:
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(window))
    assert contrast(error_colour(palette), QColor(window)) >= 4.5


def test_an_error_on_a_dark_palette_uses_the_light_red(
    qtbot: QtBot, shepherd_daemon: RunningDaemon
) -> None:
    worker = ApiWorker(shepherd_daemon.socket)
    dialog = SettingsDialog(worker)
    qtbot.addWidget(dialog)
    dark = QPalette()
    dark.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    dialog.setPalette(dark)
    try:
        with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS):
            dialog.reload()
        dialog.edits["download.base_url"].setText("http://mirror.example")
        with qtbot.waitSignal(dialog.refused, timeout=WAIT_MS):
            dialog.save()
        style = dialog.errors["download.base_url"].styleSheet()
        assert error_colour(dark).name() in style
        assert contrast(error_colour(dark), QColor("#202124")) >= 4.5
    finally:
        worker.stop()


def test_windows_are_built_in_the_editor_and_saved_as_the_daemon_reads_them(
    qtbot: QtBot, dialog: SettingsDialog, shepherd_daemon: RunningDaemon
) -> None:
    key = "agents.default.windows"
    dialog.edits[key].setText("sat 02:00 1h UTC")
    editor = dialog.edit_windows(key)
    assert [row.row().text() for row in editor.rows] == ["sat 02:00 1h UTC"]
    second = editor.add_row(WindowRow(("tue", "thu"), "03:30", "90m", "Europe/Berlin"))
    assert second.days["tue"].isChecked() and not second.days["mon"].isChecked()
    second.days["mon"].setChecked(True)
    editor.accept()
    assert dialog.edits[key].text() == "sat 02:00 1h UTC; mon,tue,thu 03:30 90m Europe/Berlin"
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        dialog.save()
    saved = shepherd_daemon.api.get("/v1/settings")["settings"]["agents"]["default"]["windows"]
    assert [(w["days"], w["start"], w["timezone"]) for w in saved] == [
        (["sat"], "02:00", "UTC"),
        (["mon", "tue", "thu"], "03:30", "Europe/Berlin"),
    ]
