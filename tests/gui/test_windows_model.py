"""The windows editor's text <-> rows (the daemon still checks what is saved)."""

from __future__ import annotations

import pytest

from gui.windows_model import DAYS, WindowRow, parse_windows, windows_text


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("", []),
        ("sat 02:00 1h", [WindowRow(("sat",), "02:00", "1h", None)]),
        (
            "mon,wed 02:00 2h Europe/Berlin; daily 23:00 30m UTC",
            [
                WindowRow(("mon", "wed"), "02:00", "2h", "Europe/Berlin"),
                WindowRow(DAYS, "23:00", "30m", "UTC"),
            ],
        ),
        ("weekends 10:00 4h", [WindowRow(("sat", "sun"), "10:00", "4h", None)]),
    ],
    ids=["empty", "one", "two with zones", "a day group"],
)
def test_text_to_rows_and_back(text: str, rows: list[WindowRow]) -> None:
    assert parse_windows(text) == rows
    again = windows_text(rows)
    assert parse_windows(again) == rows


def test_every_day_is_written_daily_and_a_row_without_days_is_dropped() -> None:
    rows = [WindowRow(DAYS, "01:00", "1h", None), WindowRow((), "02:00", "1h", None)]
    assert windows_text(rows) == "daily 01:00 1h"
