"""What the status window shows: a card per agent and a week strip of the maintenance
windows. Pure: the clock and the time zone are parameters, the inputs are API answers.

    cards = [card_for(agent) for agent in view.agents]
    strip = week_strip(settings_answer, agents, now=datetime.now(UTC), tz=None)  # desktop zone
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from gui.feedback import local_time_text
from gui.schedule_model import next_occurrences
from gui.viewmodel import HOLD_WORDS, AgentView

__all__ = ["LANES", "Band", "Card", "WeekStrip", "card_for", "week_strip"]

LANES = ("cluster window", "local windows", "blackouts")


@dataclass(frozen=True)
class Card:
    agent: str
    title: str  # "default — 17.1.0"
    lines: tuple[str, ...]  # health, offer and when, last result, details
    actions: tuple[tuple[str, str], ...]  # (kind, button text), the fitting one first


@dataclass(frozen=True)
class Band:
    lane: str  # one of LANES
    start: datetime  # aware
    end: datetime
    label: str


@dataclass(frozen=True)
class WeekStrip:
    start: datetime  # local midnight today, in ``zone``
    end: datetime
    zone: str  # the time zone's name, shown
    now: datetime
    next_update: datetime | None  # the next possible update, where known
    next_text: str
    bands: tuple[Band, ...]
    notes: tuple[str, ...]  # what cannot be drawn (the cluster decides its v2 window)


def card_for(agent: AgentView) -> Card:
    lines = [f"state: {agent.headline.split(' · ', 1)[-1]}"]
    if agent.offered:
        hold = HOLD_WORDS.get(agent.held_by or "", "")
        when = f", installs {local_time_text(agent.installs_at)}" if agent.installs_at else ""
        lines.append(f"offered: {agent.offered}{' — ' + hold if hold else ''}{when}")
    lines.append(agent.progress_text or agent.why)
    lines += agent.details
    actions: list[tuple[str, str]] = []
    if agent.busy is None:
        if agent.pinned:
            actions.append(("pause", "Resume updates"))
        if agent.allow_again:
            actions.append(("allow", f"Allow {agent.allow_again} again…"))
        if agent.offered and agent.can_update:
            actions.append(("update", f"Update to {agent.offered}…"))
        if agent.can_rollback and agent.backup:
            actions.append(("rollback", f"Roll back to {agent.backup}…"))
        if not agent.pinned:
            actions.append(("pause", "Pause updates"))
        actions.append(("check", "Check now"))
    return Card(agent.name, f"{agent.name} — {agent.version}", tuple(lines), tuple(actions))


def week_strip(
    settings: Mapping[str, Any],
    agents: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    tz: tzinfo | None = None,
) -> WeekStrip:
    """The coming seven days from local midnight: the v1 windows the agents exported, each
    agent's local windows and blackouts, now, and the next possible update."""
    local_now = now.astimezone(tz)
    start = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=7)
    per_agent = (settings.get("settings") or {}).get("agents") or {}
    several = len(agents) > 1
    bands: list[Band] = []
    notes: list[str] = []
    seen_exported: set[tuple[str, str]] = set()
    for status in agents:
        name = str(status.get("agent"))
        prefix = f"{name}: " if several else ""
        for window in status.get("exported_windows") or ():
            key = (str(window.get("start")), str(window.get("end")))
            if key not in seen_exported:
                seen_exported.add(key)
                begin, finish = _time(key[0]), _time(key[1])
                if begin and finish and finish > start and begin < end:
                    bands.append(Band(LANES[0], begin, finish, "v1 window (exported)"))
        if status.get("kind") != "package" and status.get("exported_windows") is None:
            notes.append(f"{prefix}the cluster opens its v2 window itself; {_observed(status, tz)}")
        local = per_agent.get(name) or {}
        for lane, setting, what in (
            (LANES[1], "windows", "local window"),
            (LANES[2], "blackouts", "blackout"),
        ):  # the label names no time: the band's own, in the desktop's zone, is the one shown
            for spec in local.get(setting) or ():
                for begin, finish in next_occurrences(spec, start, count=14):
                    if begin < end:
                        bands.append(Band(lane, begin, finish, f"{prefix}{what}"))
    next_update, next_text = _next_update(agents, bands, now, tz)
    return WeekStrip(
        start=start,
        end=end,
        zone=local_now.tzname() or str(local_now.tzinfo),
        now=now,
        next_update=next_update,
        next_text=next_text,
        bands=tuple(sorted(bands, key=lambda b: (LANES.index(b.lane), b.start))),
        notes=tuple(dict.fromkeys(notes)),
    )


def _observed(status: Mapping[str, Any], tz: tzinfo | None) -> str:
    offer = status.get("offer") or {}
    checked = status.get("last_check")
    if not checked:
        return "not checked yet"
    when = local_time_text(str(checked), tz)
    if offer.get("held_by") == "cluster-window":
        return f"seen closed at {when}"
    if offer.get("held_by") == "cluster-unreachable":
        return f"the cluster could not be asked at {when}"
    return f"last asked at {when}"


def _next_update(
    agents: Sequence[Mapping[str, Any]], bands: Sequence[Band], now: datetime, tz: tzinfo | None
) -> tuple[datetime | None, str]:
    """The earliest known moment an offered update installs: the daemon's ``installs_at``,
    else the next window that no blackout covers."""
    pending = [a for a in agents if (a.get("offer") or {}).get("target")]
    pending = [a for a in pending if not (a.get("offer") or {}).get("installed")]
    if not pending:
        return None, "no update is waiting"
    known = [_time((a.get("offer") or {}).get("installs_at")) for a in pending]
    moments = [m for m in known if m is not None]
    if moments:
        first = min(moments)
        return first, f"next possible update: {local_time_text(first.isoformat(), tz)}"
    blackouts = [b for b in bands if b.lane == LANES[2]]
    for band in sorted((b for b in bands if b.lane != LANES[2]), key=lambda b: b.start):
        moment = max(band.start, now)
        if moment < band.end and not any(b.start <= moment < b.end for b in blackouts):
            return moment, f"next possible update: {local_time_text(moment.isoformat(), tz)}"
    return None, "next possible update: when the cluster opens its window"


def _time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
