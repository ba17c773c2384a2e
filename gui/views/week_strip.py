"""The week strip: seven days from local midnight, one lane per kind of window (cluster,
local windows, blackouts), a line at "now" and a diamond at the next possible update."""

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
_LABEL_WIDTH = 110
_HEADER = 18
_LANE_HEIGHT = 22


class WeekStripView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strip: WeekStrip | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(_LABEL_WIDTH + 7 * 40)

    def sizeHint(self) -> QSize:
        return QSize(_LABEL_WIDTH + 7 * 80, _HEADER + len(LANES) * _LANE_HEIGHT + 4)

    def minimumSizeHint(self) -> QSize:
        return QSize(_LABEL_WIDTH + 7 * 40, _HEADER + len(LANES) * _LANE_HEIGHT + 4)

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
        finally:
            painter.end()

    def _draw_grid(self, painter: QPainter, strip: WeekStrip, text: QColor, grid: QColor) -> None:
        bottom = _HEADER + len(LANES) * _LANE_HEIGHT
        for row, lane in enumerate(LANES):
            painter.setPen(text)
            top = _HEADER + row * _LANE_HEIGHT
            painter.drawText(
                QRectF(2, top, _LABEL_WIDTH - 6, _LANE_HEIGHT),
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
            y = _HEADER - 5
            painter.drawPolygon(
                QPolygonF(
                    [QPointF(x, y - 5), QPointF(x + 5, y), QPointF(x, y + 5), QPointF(x - 5, y)]
                )
            )
