"""The week strip: seven days from local midnight, one lane per kind of window (cluster,
local windows, blackouts; each lane's name beside a swatch of its colour), a line at "now"
and a diamond at the next possible update, and a legend for those two marks."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui.status_model import LANES, WeekStrip

__all__ = ["WeekStripView"]

_LANE_COLOURS = {
    LANES[0]: QColor("#1e88e5"),
    LANES[1]: QColor("#43a047"),
    LANES[2]: QColor("#6d4c41"),
}
_NOW = QColor("#e53935")
_NEXT = QColor("#fb8c00")
_LABEL_WIDTH = 124
_HEADER = 20
_LANE_HEIGHT = 26
_LEGEND = 22
_SWATCH = 10
_HEIGHT = _HEADER + len(LANES) * _LANE_HEIGHT + _LEGEND
LEGEND = ("now", "next possible update")


class WeekStripView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strip: WeekStrip | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(_LABEL_WIDTH + 7 * 40)

    def sizeHint(self) -> QSize:
        return QSize(_LABEL_WIDTH + 7 * 80, _HEIGHT)

    def minimumSizeHint(self) -> QSize:
        return QSize(_LABEL_WIDTH + 7 * 40, _HEIGHT)

    def show_strip(self, strip: WeekStrip) -> None:
        self.strip = strip
        self.setToolTip("\n".join(self.band_texts()))
        self.update()

    def band_texts(self) -> list[str]:
        """Each drawn band in words, in the strip's zone (also the widget's tooltip)."""
        strip = self.strip
        if strip is None:
            return []
        zone = strip.start.tzinfo
        return [
            f"{b.lane}: {b.start.astimezone(zone):%a %H:%M} to {b.end.astimezone(zone):%H:%M} "
            f"{strip.zone} ({b.label})"
            for b in strip.bands
        ]

    def x_of(self, moment: datetime) -> float:
        strip = self.strip
        if strip is None:
            return float(_LABEL_WIDTH)
        span = (strip.end - strip.start).total_seconds()
        offset = (moment - strip.start).total_seconds()
        width = self.width() - _LABEL_WIDTH - 2
        return _LABEL_WIDTH + max(0.0, min(1.0, offset / span)) * width

    def paintEvent(self, event: QPaintEvent) -> None:
        strip = self.strip
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            text = self.palette().color(QPalette.ColorRole.WindowText)
            grid = self.palette().color(QPalette.ColorRole.Mid)
            if strip is None:
                painter.setPen(text)
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "loading…")
                return
            self._draw_grid(painter, strip, text, grid)
            for band in strip.bands:
                row = LANES.index(band.lane)
                top = _HEADER + row * _LANE_HEIGHT + 3
                left, right = self.x_of(band.start), self.x_of(band.end)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(_LANE_COLOURS[band.lane])
                painter.drawRoundedRect(
                    QRectF(left, top, max(right - left, 3.0), _LANE_HEIGHT - 6), 3, 3
                )
            self._draw_marks(painter, strip)
            self._draw_legend(painter, text)
        finally:
            painter.end()

    def _draw_grid(self, painter: QPainter, strip: WeekStrip, text: QColor, grid: QColor) -> None:
        bottom = _HEADER + len(LANES) * _LANE_HEIGHT
        for row, lane in enumerate(LANES):
            top = _HEADER + row * _LANE_HEIGHT
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_LANE_COLOURS[lane])
            swatch_top = top + (_LANE_HEIGHT - _SWATCH) / 2
            painter.drawRoundedRect(QRectF(2, swatch_top, _SWATCH, _SWATCH), 2, 2)
            painter.setPen(text)
            painter.drawText(
                QRectF(_SWATCH + 6, top, _LABEL_WIDTH - _SWATCH - 10, _LANE_HEIGHT),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                lane,
            )
        for day in range(7):
            midnight = strip.start + timedelta(days=day)
            x = self.x_of(midnight)
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(x, 2), QPointF(x, bottom))
            painter.setPen(text)
            painter.drawText(
                QRectF(x + 3, 0, self.x_of(midnight + timedelta(days=1)) - x - 3, _HEADER),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                f"{midnight:%a %d}",
            )

    def _draw_marks(self, painter: QPainter, strip: WeekStrip) -> None:
        bottom = _HEADER + len(LANES) * _LANE_HEIGHT
        now_x = self.x_of(strip.now)
        painter.setPen(QPen(_NOW, 2))
        painter.drawLine(QPointF(now_x, _HEADER - 4), QPointF(now_x, bottom))
        if strip.next_update is not None and strip.next_update < strip.end:
            x = self.x_of(strip.next_update)
            painter.setPen(QPen(_NEXT, 1))
            painter.setBrush(_NEXT)
            painter.drawPolygon(_diamond(x, _HEADER - 5))

    def _draw_legend(self, painter: QPainter, text: QColor) -> None:
        top = _HEADER + len(LANES) * _LANE_HEIGHT + 4
        middle = top + (_LEGEND - 4) / 2
        metrics = painter.fontMetrics()
        x = float(_LABEL_WIDTH)
        for words in LEGEND:
            if words == LEGEND[0]:
                painter.setPen(QPen(_NOW, 2))
                painter.drawLine(QPointF(x + 4, middle - 6), QPointF(x + 4, middle + 6))
            else:
                painter.setPen(QPen(_NEXT, 1))
                painter.setBrush(_NEXT)
                painter.drawPolygon(_diamond(x + 5, middle))
            x += 14
            width = metrics.horizontalAdvance(words) + 2
            painter.setPen(text)
            painter.drawText(
                QRectF(x, top, width, _LEGEND - 4), Qt.AlignmentFlag.AlignVCenter, words
            )
            x += width + 18


def _diamond(x: float, y: float) -> QPolygonF:
    return QPolygonF([QPointF(x, y - 5), QPointF(x + 5, y), QPointF(x, y + 5), QPointF(x - 5, y)])
