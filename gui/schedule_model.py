"""When a local window or blackout happens: the occurrences of one spec from the daemon's
``GET /v1/settings`` (already normalised to ``{days: [mon..], start: "HH:MM", duration:
"2h30m", timezone}``), for the status window's week strip. Pure: the clock is a parameter."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

__all__ = ["next_occurrences"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")


def next_occurrences(
    spec: Mapping[str, Any], now: datetime, count: int = 2
) -> list[tuple[datetime, datetime]]:
    """The current (if inside) and next occurrences of one window spec, in UTC; [] when the
    spec is not in the normalised form."""
    # imported here: a tray with no local window never loads zoneinfo (~1.5 MB resident)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415

    try:
        zone = ZoneInfo(str(spec.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return []
    days = {_DAYS.index(d[:3].lower()) for d in spec.get("days") or () if d[:3].lower() in _DAYS}
    match = _DURATION.match(str(spec.get("duration") or ""))
    start_text = str(spec.get("start") or "")
    if not days or match is None or not any(match.groups()) or ":" not in start_text:
        return []
    hours, minutes = (int(p) for p in start_text.split(":", 1))
    length = timedelta(
        days=int(match["d"] or 0), hours=int(match["h"] or 0), minutes=int(match["m"] or 0)
    )
    found: list[tuple[datetime, datetime]] = []
    for day in _days_from(now.astimezone(zone).date() - timedelta(days=8), 8 + 15):
        if day.weekday() not in days:
            continue
        start = datetime.combine(day, time(hours, minutes), zone).astimezone(UTC)
        if start + length > now:
            found.append((start, start + length))
        if len(found) == count:
            break
    return found


def _days_from(first: date, count: int) -> Iterator[date]:
    for offset in range(count):
        yield first + timedelta(days=offset)
