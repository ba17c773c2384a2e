"""The schedule view's rows: the next local windows and blackouts of each agent (from the
daemon's ``GET /v1/settings``, already normalised to ``{days: [mon..], start: "HH:MM",
duration: "2h30m", timezone}``) and the cluster's decision (``next_check``, message).
Pure: the clock is a parameter."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["ScheduleRow", "next_occurrences", "schedule_rows"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")


@dataclass(frozen=True)
class ScheduleRow:
    agent: str
    kind: str  # "window", "blackout", "cluster"
    start: datetime | None  # aware, UTC
    end: datetime | None
    detail: str

    def when_text(self, tz: ZoneInfo | None = None) -> str:
        if self.start is None:
            return "—"
        start = self.start.astimezone(tz)
        text = start.strftime("%a %Y-%m-%d %H:%M")
        if self.end is not None:
            end = self.end.astimezone(tz)
            same_day = end.date() == start.date()
            text += " to " + end.strftime("%H:%M" if same_day else "%a %Y-%m-%d %H:%M")
        return text


def next_occurrences(
    spec: Mapping[str, Any], now: datetime, count: int = 2
) -> list[tuple[datetime, datetime]]:
    """The current (if inside) and next occurrences of one window spec, in UTC; [] when the
    spec is not in the normalised form."""
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


def schedule_rows(
    settings: Mapping[str, Any], agents: Sequence[Mapping[str, Any]], now: datetime
) -> list[ScheduleRow]:
    """Rows for every agent: the cluster's next check, then local windows and blackouts,
    soonest first within each agent."""
    per_agent = (settings.get("settings") or {}).get("agents") or {}
    rows: list[ScheduleRow] = []
    for status in agents:
        name = str(status.get("agent"))
        decision = status.get("decision") or {}
        next_check = _parse_time(decision.get("next_check") or status.get("next_check"))
        message = str(decision.get("message") or "not checked yet")
        rows.append(ScheduleRow(name, "cluster", next_check, None, message))
        local = per_agent.get(name) or {}
        timed: list[ScheduleRow] = []
        for kind, key in (("window", "windows"), ("blackout", "blackouts")):
            for spec in local.get(key) or ():
                label = _describe(spec)
                for start, end in next_occurrences(spec, now):
                    detail = ("inside now: " if start <= now else "") + label
                    timed.append(ScheduleRow(name, kind, start, end, detail))
        timed.sort(key=lambda r: r.start or now)
        if not local.get("windows"):
            timed.insert(0, ScheduleRow(name, "window", None, None, "no local window: any time"))
        rows += timed
    return rows


def _describe(spec: Mapping[str, Any]) -> str:
    days = ",".join(str(d) for d in spec.get("days") or ())
    return f"{days} {spec.get('start')} for {spec.get('duration')} ({spec.get('timezone')})"


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
