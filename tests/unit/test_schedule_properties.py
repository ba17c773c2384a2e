"""Properties of windows: "next window" is never in the past and is inside a window."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.policy.schedule import ClusterWindow, LocalWindow

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Sao_Paulo",
]

moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2032, 12, 31), timezones=st.just(UTC)
)
local_windows = st.builds(
    lambda days, hour, minute, minutes, tz: LocalWindow.parse(
        {
            "days": days,
            "start": f"{hour:02d}:{minute:02d}",
            "duration": f"{minutes}m",
            "timezone": tz,
        }
    ),
    st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True),
    st.integers(0, 23),
    st.sampled_from([0, 15, 30, 45, 59]),
    st.integers(1, 3 * 24 * 60),
    st.sampled_from(ZONES),
)
cluster_windows = st.builds(
    ClusterWindow.parse, st.integers(0, 23), st.lists(st.sampled_from(DAYS), max_size=7)
)


@settings(max_examples=500, deadline=None)
@given(local_windows, moments)
def test_local_next_window_is_never_in_the_past_and_is_inside_the_window(
    window: LocalWindow, now: datetime
) -> None:
    interval = window.current_or_next(now)
    assert interval.end > now
    assert window.contains(interval.start)
    assert interval.start > now or interval.contains(now)
    assert window.contains(now) == interval.contains(now)
    assert interval.end - interval.start == window.duration


@settings(max_examples=300, deadline=None)
@given(cluster_windows, moments)
def test_cluster_next_window_is_never_in_the_past_and_is_inside_the_window(
    window: ClusterWindow, now: datetime
) -> None:
    interval = window.current_or_next(now)
    assert interval.end > now
    assert window.contains(interval.start)
    assert interval.start > now or interval.contains(now)
    assert interval.start.weekday() in window.weekdays
    assert interval.start.hour == window.utc_start_hour


@settings(max_examples=200, deadline=None)
@given(cluster_windows, moments, st.integers(1, 21))
def test_upcoming_windows_are_sorted_disjoint_and_within_the_horizon(
    window: ClusterWindow, now: datetime, days: int
) -> None:
    horizon = timedelta(days=days)
    upcoming = window.upcoming(now, horizon)
    assert upcoming == sorted(upcoming, key=lambda w: w.start)
    for earlier, later in itertools.pairwise(upcoming):
        assert earlier.end <= later.start
    assert all(w.end > now and w.start < now + horizon for w in upcoming)
    assert len(upcoming) >= days * len(window.weekdays) // 7 - 1
