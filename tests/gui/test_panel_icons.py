"""The panel's icons and status words (issue 15): a symbolic SVG shipped for every state,
drawn light on a dark palette and dark on a light one where a panel takes pixels; which
states need attention; which notifications offer "Roll back". Qt offscreen."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from gui.icons import SYMBOLIC_THEME_PATH, symbolic_file, symbolic_image, symbolic_name
from gui.sni import sni_status
from gui.tray_panel import notice_actions
from gui.viewmodel import IconState, Notice, TrayView, tray_view


@pytest.mark.parametrize("state", list(IconState))
def test_every_state_has_a_monochrome_symbolic_svg_in_the_shipped_theme(state: IconState) -> None:
    path = symbolic_file(state)
    assert path == SYMBOLIC_THEME_PATH / "hicolor/symbolic/apps" / f"{symbolic_name(state)}.svg"
    assert symbolic_name(state).endswith("-symbolic")
    text = path.read_text()
    ET.fromstring(text)  # noqa: S314 - well-formed (our own file)
    colours = {c for c in ("#bebebe", "#ffffff", "#000000", "white", "black") if c in text}
    assert colours == {"#bebebe"}  # the one colour panels recolour


def _lightness(state: IconState, palette: QPalette) -> list[int]:
    image = symbolic_image(state, 22, palette)
    pixels = [image.pixelColor(x, y) for x in range(22) for y in range(22)]
    return [c.lightness() for c in pixels if c.alpha() > 200]


@pytest.mark.parametrize("state", list(IconState))
def test_the_pixel_fallback_follows_a_dark_or_light_palette(
    qapp: QApplication, state: IconState
) -> None:
    dark = _lightness(state, QPalette(QColor("#2b2b2b")))
    light = _lightness(state, QPalette(QColor("#f0f0f0")))
    assert dark and light  # the glyph is drawn
    assert min(dark) > 200  # light strokes on a dark panel
    assert max(light) < 60  # dark strokes on a light panel


def _drawn(image: QImage) -> set[tuple[int, int]]:
    points = [(x, y) for x in range(image.width()) for y in range(image.height())]
    return {(x, y) for x, y in points if image.pixelColor(x, y).alpha() > 128}


@pytest.mark.parametrize("state", list(IconState))
def test_the_pixels_a_panel_gets_are_the_shipped_svg(qapp: QApplication, state: IconState) -> None:
    """The tray draws the pixel fallback with QPainter (no QtSvg in the tray); it must be the
    picture a panel that reads the icon theme shows: the same strokes, pixel for pixel
    within antialiasing (intersection over union of the drawn pixels at 64 px)."""
    svg = QImage(64, 64, QImage.Format.Format_ARGB32)
    svg.fill(Qt.GlobalColor.transparent)
    painter = QPainter(svg)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(symbolic_file(state))).render(painter, QRectF(0, 0, 64, 64))
    painter.end()
    drawn, shipped = _drawn(symbolic_image(state, 64, QPalette(QColor("#2b2b2b")))), _drawn(svg)
    assert len(drawn & shipped) / len(drawn | shipped) > 0.85


def test_failures_and_problems_need_attention_the_rest_is_active() -> None:
    assert sni_status(IconState.ERROR) == "NeedsAttention"
    assert sni_status(IconState.ATTENTION) == "NeedsAttention"
    # never Passive, not even up to date: xfce4-panel would hide the icon altogether
    for state in (IconState.OK, IconState.AVAILABLE, IconState.UPDATING, IconState.PAUSED):
        assert sni_status(state) == "Active"


def _view(can_roll_back: bool) -> TrayView:
    status = {
        "agent": "default",
        "active": "17.2.1",
        "backup": "17.1.0" if can_roll_back else None,
        "bad": {},
        "busy": None,
        "decision": {"action": "none", "message": "up to date", "target": "17.2.1"},
    }
    return tray_view([status])


def test_an_update_notice_offers_roll_back_others_only_show() -> None:
    updated = Notice("Agent updated", "default: 17.1.0 -> 17.2.1", "info", "default")
    assert notice_actions(updated, _view(True)) == [("default", "Show"), ("rollback", "Roll back")]
    failed = Notice("Update failed", "default: rolled back to 17.1.0", "error", "default")
    assert notice_actions(failed, _view(False)) == [("default", "Show")]
    checked = Notice("Checked", "default: up to date", "info", "default")
    assert notice_actions(checked, _view(True)) == [("default", "Show")]
    offer = Notice("Update available", "default: 17.3.0 is offered", "info", "default")
    assert notice_actions(offer, _view(True))[-1] == ("update", "Update now…")
    nobody = Notice("Agent updated", "other: 17.1.0 -> 17.2.1", "info", "other")
    assert notice_actions(nobody, _view(True)) == [("default", "Show")]
