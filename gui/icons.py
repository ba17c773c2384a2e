"""The tray icons. Two kinds, one glyph per state:

- coloured discs drawn with QPainter (the XEmbed tray and the windows): no files, sharp at
  any size;
- monochrome symbolic icons for a StatusNotifierItem panel: ``symbolic_name(state)`` names
  an SVG shipped under ``gui/panel_icons/hicolor/symbolic/apps`` (the package installs the
  same files under /usr/share/icons), which a panel recolours to its theme;
  ``symbolic_image`` draws the same glyph in the palette's text colour for panels that only
  take pixels, so it is light on a dark panel and dark on a light one (with QPainter, as
  the discs: QtSvg would cost the tray ~1 MB resident).

Needs a QGuiApplication."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPainterPath, QPalette, QPen, QPixmap

from gui.viewmodel import IconState

__all__ = [
    "COLOURS",
    "SYMBOLIC_THEME_PATH",
    "state_icon",
    "state_pixmap",
    "symbolic_file",
    "symbolic_image",
    "symbolic_name",
]

# an icon theme path holding hicolor/symbolic/apps (beside this module, frozen or not)
SYMBOLIC_THEME_PATH = Path(__file__).resolve().with_name("panel_icons")

COLOURS = {
    IconState.OK: QColor("#2e7d32"),
    IconState.UNCHECKED: QColor("#607d8b"),
    IconState.PAUSED: QColor("#5e35b1"),
    IconState.AVAILABLE: QColor("#00838f"),
    IconState.UPDATING: QColor("#1565c0"),
    IconState.ATTENTION: QColor("#f9a825"),
    IconState.ERROR: QColor("#c62828"),
    IconState.DAEMON_DOWN: QColor("#757575"),
}

_cache: dict[tuple[IconState, int], QPixmap] = {}


def state_pixmap(state: IconState, size: int = 64) -> QPixmap:
    key = (state, size)
    if key not in _cache:
        _cache[key] = _draw(state, size)
    return _cache[key]


def state_icon(state: IconState) -> QIcon:
    icon = QIcon()
    for size in (16, 22, 24, 32, 48, 64):
        icon.addPixmap(state_pixmap(state, size))
    return icon


def symbolic_name(state: IconState) -> str:
    """The icon name a panel looks up: ``agent-shepherd-attention-symbolic``."""
    return f"agent-shepherd-{state.value}-symbolic"


def symbolic_file(state: IconState) -> Path:
    return SYMBOLIC_THEME_PATH / "hicolor" / "symbolic" / "apps" / f"{symbolic_name(state)}.svg"


def symbolic_image(state: IconState, size: int, palette: QPalette) -> QImage:
    """The symbolic icon in ``palette``'s window text colour, ARGB32, ``size`` square."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    colour = palette.color(QPalette.ColorRole.WindowText)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.scale(size / 64, size / 64)
        painter.setPen(QPen(colour, 6))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(QPointF(32, 32), 27, 27)
        _glyph(painter, state, colour)
    finally:
        painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def _draw(state: IconState, size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.scale(size / 64, size / 64)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(COLOURS[state])
        painter.drawEllipse(QRectF(2, 2, 60, 60))
        _glyph(painter, state, QColor("white"))
    finally:
        painter.end()
    return pixmap


def _glyph(painter: QPainter, state: IconState, colour: QColor) -> None:
    """The state's glyph in 64 x 64 units, stroked in ``colour``."""
    pen = QPen(colour, 7)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if state is IconState.OK:  # a tick
        path = QPainterPath(QPointF(18, 33))
        path.lineTo(28, 43)
        path.lineTo(46, 22)
        painter.drawPath(path)
    elif state is IconState.UNCHECKED:  # "?"
        path = QPainterPath(QPointF(23, 24))
        path.arcTo(QRectF(23, 14, 18, 18), 180, -250)
        path.lineTo(32, 38)
        painter.drawPath(path)
        painter.drawPoint(QPointF(32, 48))
    elif state is IconState.PAUSED:  # two bars
        painter.drawLine(QPointF(25, 20), QPointF(25, 44))
        painter.drawLine(QPointF(39, 20), QPointF(39, 44))
    elif state is IconState.AVAILABLE:  # an arrow down onto a line
        painter.drawLine(QPointF(32, 14), QPointF(32, 38))
        path = QPainterPath(QPointF(22, 29))
        path.lineTo(32, 39)
        path.lineTo(42, 29)
        painter.drawPath(path)
        painter.drawLine(QPointF(20, 48), QPointF(44, 48))
    elif state is IconState.UPDATING:  # an open ring with an arrow head
        painter.drawArc(QRectF(17, 17, 30, 30), 60 * 16, 280 * 16)
        path = QPainterPath(QPointF(40, 12))
        path.lineTo(41, 22)
        path.lineTo(31, 22)
        painter.drawPath(path)
    elif state is IconState.ATTENTION:  # "!"
        painter.drawLine(QPointF(32, 16), QPointF(32, 36))
        painter.drawPoint(QPointF(32, 47))
    elif state is IconState.ERROR:  # "x"
        painter.drawLine(QPointF(21, 21), QPointF(43, 43))
        painter.drawLine(QPointF(43, 21), QPointF(21, 43))
    else:  # daemon down: a dash
        painter.drawLine(QPointF(19, 32), QPointF(45, 32))
