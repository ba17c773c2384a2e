"""The Qt-free halves of the schedule view and the settings dialog."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gui.schedule_model import next_occurrences, schedule_rows
from gui.settings_model import changes_between, current_values, field_for_error

MONDAY_NOON = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"days": ["mon", "wed"], "start": "02:00", "duration": "2h", "timezone": "UTC"},
            [
                (datetime(2026, 1, 7, 2, 0, tzinfo=UTC), datetime(2026, 1, 7, 4, 0, tzinfo=UTC)),
                (datetime(2026, 1, 12, 2, 0, tzinfo=UTC), datetime(2026, 1, 12, 4, 0, tzinfo=UTC)),
            ],
        ),
        (
            {"days": ["mon"], "start": "11:00", "duration": "1h30m", "timezone": "UTC"},
            [
                (datetime(2026, 1, 5, 11, 0, tzinfo=UTC), datetime(2026, 1, 5, 12, 30, tzinfo=UTC)),
                (
                    datetime(2026, 1, 12, 11, 0, tzinfo=UTC),
                    datetime(2026, 1, 12, 12, 30, tzinfo=UTC),
                ),
            ],
        ),
        (
            {"days": ["sun"], "start": "23:00", "duration": "1d14h", "timezone": "UTC"},
            [
                (datetime(2026, 1, 4, 23, 0, tzinfo=UTC), datetime(2026, 1, 6, 13, 0, tzinfo=UTC)),
                (
                    datetime(2026, 1, 11, 23, 0, tzinfo=UTC),
                    datetime(2026, 1, 13, 13, 0, tzinfo=UTC),
                ),
            ],
        ),
        (
            {"days": ["tue"], "start": "03:00", "duration": "1h", "timezone": "Europe/Berlin"},
            [
                (datetime(2026, 1, 6, 2, 0, tzinfo=UTC), datetime(2026, 1, 6, 3, 0, tzinfo=UTC)),
                (datetime(2026, 1, 13, 2, 0, tzinfo=UTC), datetime(2026, 1, 13, 3, 0, tzinfo=UTC)),
            ],
        ),
        ({"days": ["mon"], "start": "02:00", "duration": "2h", "timezone": "Mars/Base"}, []),
    ],
    ids=[
        "the next two later this week",
        "inside a window now: it comes first",
        "a long window begun yesterday is still current",
        "a window in another time zone is shown in UTC",
        "an unknown time zone gives nothing",
    ],
)
def test_next_occurrences(spec: dict[str, object], expected: list[object]) -> None:
    assert next_occurrences(spec, MONDAY_NOON) == expected


def test_schedule_rows_list_the_cluster_check_then_windows_and_blackouts() -> None:
    settings = {
        "settings": {
            "agents": {
                "default": {
                    "windows": [
                        {"days": ["tue"], "start": "02:00", "duration": "1h", "timezone": "UTC"}
                    ],
                    "blackouts": [
                        {"days": ["mon"], "start": "11:00", "duration": "2h", "timezone": "UTC"}
                    ],
                }
            }
        }
    }
    agents = [
        {
            "agent": "default",
            "decision": {
                "message": "waiting for the window",
                "next_check": "2026-01-06T02:00:00+00:00",
            },
        },
        {"agent": "other", "decision": None, "next_check": None},
    ]
    rows = schedule_rows(settings, agents, MONDAY_NOON)
    kinds = [(r.agent, r.kind) for r in rows]
    assert kinds[:3] == [("default", "cluster"), ("default", "blackout"), ("default", "window")]
    assert rows[0].detail == "waiting for the window"
    assert rows[0].start == datetime(2026, 1, 6, 2, 0, tzinfo=UTC)
    assert rows[1].detail.startswith("inside now: ")
    assert ("other", "cluster") in kinds
    assert [r.detail for r in rows if r.agent == "other"] == [
        "not checked yet",
        "no local window: any time",
    ]


def test_settings_changes_only_send_edited_fields_and_empty_means_default() -> None:
    answer = {
        "settings": {
            "host": {"network.http_proxy": "http://p:3128"},
            "agents": {"default": {"group": "prod", "proxy": None}},
        }
    }
    before = current_values(answer, ["default"])
    assert before["network.http_proxy"] == "http://p:3128"
    assert before["agents.default.group"] == "prod"
    assert before["agents.default.proxy"] == ""
    after = dict(before)
    after["network.http_proxy"] = ""
    after["agents.default.proxy"] = " proxy.example:443 "
    assert changes_between(before, after) == {
        "network.http_proxy": None,
        "agents.default.proxy": "proxy.example:443",
    }
    assert changes_between(before, before) == {}


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (
            "invalid value for download.base_url: 'http://x' is not an https URL",
            "download.base_url",
        ),
        ("invalid value for agents.default.group: 'a b' has a space", "agents.default.group"),
        ("the secret store is locked", None),
    ],
    ids=["a host key", "an agent key", "no key named"],
)
def test_an_api_error_is_shown_next_to_the_field_it_names(message: str, field: str | None) -> None:
    keys = ["download.base_url", "network.http_proxy", "agents.default.group"]
    assert field_for_error(message, keys) == field
