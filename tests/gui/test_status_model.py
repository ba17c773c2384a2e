"""The status window's model, Qt-free: the cards' texts and actions, and the week strip's
bands, "now" and "next possible update", in a named time zone."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gui.feedback import acknowledgement, local_time_text, refusal
from gui.status_model import card_for, week_strip
from gui.viewmodel import tray_view
from tests.gui.test_viewmodel import offer, status

NOW = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # a Tuesday
BERLIN = ZoneInfo("Europe/Berlin")


def settings(**agents: dict[str, Any]) -> dict[str, Any]:
    return {"settings": {"host": {}, "agents": agents}}


def window(days: list[str], start: str, duration: str, tz: str = "UTC") -> dict[str, Any]:
    return {"days": days, "start": start, "duration": duration, "timezone": tz}


EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
BAD = offer(held_by="remembered-bad")


@pytest.mark.parametrize(
    ("changes", "actions"),
    [
        ({"offer": offer()}, ["update", "pause", "check"]),
        ({"pinned": True, "offer": offer()}, ["pause", "check"]),
        ({"backup": "17.0.5", "backup_installed": True}, ["rollback", "pause", "check"]),
        ({"bad": {"17.2.1": {}}, "offer": BAD}, ["allow", "pause", "check"]),
        ({"busy": "updating"}, []),
    ],
    ids=[
        "an offer: update first",
        "paused: resume first",
        "a backup: roll back",
        "bad: allow again",
        "busy: nothing",
    ],
)  # fmt: skip
def test_each_card_offers_the_action_that_fits(changes: dict[str, Any], actions: list[str]) -> None:
    card = card_for(tray_view([status(**changes)]).agents[0])
    assert [kind for kind, _ in card.actions] == actions
    assert card.title == "default — 17.1.0"


def test_a_card_names_the_offer_and_when_it_installs() -> None:
    waiting = offer(held_by="local-window", installs_at="2026-12-02T02:00:00+00:00")
    card = card_for(tray_view([status(offer=waiting)]).agents[0])
    assert card.lines[0] == "state: 17.2.1 available"
    assert card.lines[1].startswith(
        "offered: 17.2.1 — waits for this host's maintenance window, installs Wed 2 Dec"
    )
    assert dict(card.actions)["update"] == "Update to 17.2.1…"


def test_the_strip_starts_at_local_midnight_and_names_the_zone() -> None:
    strip = week_strip(settings(), [status()], now=NOW, tz=BERLIN)
    assert strip.start == datetime(2026, 12, 1, 0, 0, tzinfo=BERLIN)
    assert strip.end - strip.start == timedelta(days=7)
    assert strip.zone == "CET"
    assert strip.next_update is None and strip.next_text == "no update is waiting"


def test_local_windows_blackouts_and_exported_windows_become_bands() -> None:
    exported = [
        {"start": "2026-12-02T03:00:00+00:00", "end": "2026-12-02T04:00:00+00:00"},
        {"start": "2026-12-20T03:00:00+00:00", "end": "2026-12-20T04:00:00+00:00"},  # too late
    ]
    agents = [
        status(offer=offer(), exported_windows=exported),
        status(agent="db", exported_windows=exported),  # the same file: drawn once
    ]
    local = settings(
        default={
            "windows": [window(EVERY_DAY, "02:00", "2h")],
            "blackouts": [window(["sat"], "00:00", "1d")],
        }
    )
    strip = week_strip(local, agents, now=NOW, tz=BERLIN)
    lanes = [b.lane for b in strip.bands]
    assert lanes.count("cluster window") == 1
    assert lanes.count("local windows") == 7
    assert lanes.count("blackouts") == 1
    assert strip.bands[0].label == "v1 window (exported)"
    # the window is set in UTC; the strip shows it in the desktop's zone and names no UTC time
    assert any(b.label == "default: local window" for b in strip.bands)
    # no installs_at from the daemon: the next window no blackout covers
    assert strip.next_update == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    assert strip.next_text == "next possible update: Wed 2 Dec 03:00 CET"
    assert strip.notes == ()  # both agents exported a v1 schedule


def test_the_daemons_moment_wins_and_a_v2_window_is_a_note() -> None:
    waiting = offer(held_by="cluster-window", installs_at="2026-12-03T10:00:00+00:00")
    agents = [status(offer=waiting, last_check="2026-12-01T12:55:00+00:00")]
    strip = week_strip(settings(), agents, now=NOW, tz=UTC)
    assert strip.next_update == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    assert strip.notes == (
        "the cluster opens its v2 window itself; seen closed at Tue 1 Dec 12:55 UTC",
    )
    unknown = week_strip(settings(), [status(offer=offer(), last_check=None)], now=NOW, tz=UTC)
    assert unknown.next_text == "next possible update: when the cluster opens its window"
    assert unknown.notes == ("the cluster opens its v2 window itself; not checked yet",)


def test_acknowledgements_and_refusals() -> None:
    assert (
        acknowledgement("update:default", {"outcome": {"ok": True}}) is None
    )  # the daemon says it
    not_started = acknowledgement(
        "update:default", {"decision": {"message": "up to date"}, "outcome": None}
    )
    assert not_started is not None and not_started.message == "default: up to date"
    assert acknowledgement("rollback:default", {"ok": True}) is None
    broken = refusal("check:default", ConnectionError("socket closed"))
    assert (broken.title, broken.level) == ("Check failed", "error")
    assert local_time_text("2026-12-01T13:00:00+00:00", BERLIN) == "Tue 1 Dec 14:00 CET"


@pytest.mark.parametrize("name", ["status_model.py", "feedback.py"])
def test_the_status_models_are_qt_free(name: str) -> None:
    tree = ast.parse((Path(__file__).parents[2] / "gui" / name).read_text())
    modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in modules if m.startswith("PySide6")]
