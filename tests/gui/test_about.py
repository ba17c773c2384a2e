"""The tray's About text from the daemon's ``shepherd`` field (Qt-free)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gui.about import DESCRIPTION, about_text, update_notice, with_release
from gui.viewmodel import tray_view

with (Path(__file__).resolve().parents[2] / "pyproject.toml").open("rb") as _stream:
    VERSION = tomllib.load(_stream)["project"]["version"]


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        (
            {"version": "0.2.0", "package": "0.2.0", "available": None},
            ["Agent Shepherd", DESCRIPTION, f"Tray {VERSION}", "Daemon 0.2.0"],
        ),
        (
            {"version": "0.2.0", "package": "0.2.0", "available": "0.3.0"},
            [
                "Agent Shepherd",
                DESCRIPTION,
                f"Tray {VERSION}",
                "Daemon 0.2.0",
                "Shepherd 0.3.0 available (installed: 0.2.0)",
            ],
        ),
        (None, ["Agent Shepherd", DESCRIPTION, f"Tray {VERSION}", "Daemon: not reachable"]),
    ],
    ids=["up to date", "a newer Shepherd in the repository", "no daemon"],
)
def test_about_text(release: dict[str, str | None] | None, expected: list[str]) -> None:
    assert about_text(release).splitlines() == expected


def test_update_notice_only_when_apt_offers_one() -> None:
    assert update_notice({"version": "1", "package": "1", "available": None}) is None
    assert update_notice({"version": "1", "package": "1", "available": "2"}) == (
        "Shepherd 2 available"
    )


def test_the_tooltip_says_when_a_newer_shepherd_is_available() -> None:
    view = tray_view([])
    newer = with_release(view, {"version": "0.2.0", "package": "0.2.0", "available": "0.3.0"})
    assert newer.tooltip.endswith("\nShepherd 0.3.0 available (apt upgrade installs it)")
    current = with_release(view, {"version": "0.2.0", "package": "0.2.0", "available": None})
    assert current.tooltip == view.tooltip
