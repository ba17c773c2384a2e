"""The history rows' words and times (pure: the clock and zone are parameters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gui.history_model import history_rows, kind_text, when_text

NOW = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=7, seconds=40), "7 min ago"),
        (timedelta(hours=3), "today 13:30"),  # 12:30 UTC is 13:30 in Berlin
        (timedelta(days=1), "yesterday 16:30"),
        (timedelta(days=3), "Mon 16:30"),
        (timedelta(days=30), "2026-11-03 16:30"),
        (timedelta(minutes=-10), "2026-12-03 16:40"),  # a record from a clock ahead
    ],
    ids=["seconds", "minutes", "today", "yesterday", "this week", "older", "future"],
)
def test_when_is_relative_and_local(age: timedelta, expected: str) -> None:
    when, full = when_text(NOW - age, NOW, BERLIN)
    assert when == expected
    assert full.endswith(("CET", "CEST"))


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"event": "settings", "extra": {"spec": {"pinned": True}}}, "Paused (pinned)"),
        ({"event": "settings", "extra": {"spec": {"pinned": False}}}, "Resumed (unpinned)"),
        ({"event": "settings", "extra": {"spec": {"enabled": False}}}, "Updates disabled"),
        ({"event": "settings", "extra": {}}, "Settings changed"),
        ({"event": "rollback"}, "Rollback"),
        ({"event": "clear-bad"}, "Allowed again (cleared bad)"),
        ({"event": "something-new"}, "Something new"),
    ],
    ids=["pause", "resume", "disable", "settings", "rollback", "clear-bad", "unknown kind"],
)
def test_kinds_are_told_apart_in_words(record: dict[str, object], expected: str) -> None:
    assert kind_text(record) == expected


def test_rows_name_who_asked_and_the_daemon_itself() -> None:
    records = [
        {"time": "2026-12-03T15:29:50+00:00", "agent": "default", "event": "update",
         "outcome": "succeeded", "from_revision": "17.1.0", "to_revision": "17.2.1",
         "uid": None, "message": "updated"},
        {"time": "not a time", "agent": "default", "event": "rollback", "outcome": "failed",
         "uid": 1000, "message": "no backup"},
    ]  # fmt: skip
    rows = history_rows(records, now=NOW, names=lambda uid: f"user{uid}", tz=BERLIN)
    assert [(r.by, r.tone, r.versions) for r in rows] == [
        ("Shepherd", "good", "17.1.0 → 17.2.1"),
        ("user1000", "bad", ""),
    ]
    assert rows[1].when == "not a time"  # shown as sent, not dropped
