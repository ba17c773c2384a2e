"""The Qt-free halves of the schedule view and the settings dialog."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.settings.model import Settings
from engine.settings.schema import schema_document
from gui.schedule_model import next_occurrences
from gui.settings_model import (
    changes_between,
    current_values,
    error_text,
    fields_from_schema,
    place_errors,
    secrets_from_schema,
)

SCHEMA = schema_document()  # the daemon's declaration, as GET /v1/settings/schema serves it

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


def test_settings_changes_only_send_edited_fields_and_empty_means_default() -> None:
    answer = {
        "settings": {
            "host": {"network.http_proxy": "http://p:3128"},
            "agents": {"default": {"group": "prod", "proxy": None}},
        }
    }
    before = current_values(answer, fields_from_schema(SCHEMA, ["default"]))
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


def error(key: str, reason: str, label: str, value: str) -> dict[str, str]:
    return {"key": key, "label": label, "value": value, "reason": reason}


@pytest.mark.parametrize(
    ("errors", "field"),
    [
        (
            [error("download.base_url", "must use https://", "Custom CDN", "http://x")],
            "download.base_url",
        ),
        (
            [error("agents.default.group", "is not valid: letters", "Update group", "a b")],
            "agents.default.group",
        ),
        ([], None),
    ],
    ids=["a host key", "an agent key", "no key named"],
)
def test_an_api_error_is_shown_next_to_the_field_it_names(
    errors: list[dict[str, str]], field: str | None
) -> None:
    keys = ["download.base_url", "network.http_proxy", "agents.default.group"]
    placed, elsewhere = place_errors(errors, keys)
    assert list(placed) == ([field] if field else [])
    assert elsewhere == []
    if field:
        assert placed[field] == error_text(errors[0])
        assert placed[field].startswith(f"{errors[0]['label']}: {errors[0]['reason']}")
        assert errors[0]["value"] in placed[field] and field in placed[field]


def test_an_error_for_a_key_without_a_field_is_not_lost() -> None:
    placed, elsewhere = place_errors(
        [error("no.such.key", "unknown setting 'no.such.key'", "no.such.key", "1")],
        ["download.base_url"],
    )
    assert placed == {}
    assert elsewhere == [
        "no.such.key: unknown setting 'no.such.key' — you entered “1” (no.such.key)"
    ]


def test_the_fields_are_the_schemas_options_with_its_labels_for_host_and_each_agent() -> None:
    fields = fields_from_schema(SCHEMA, ["default", "web"])
    options = SCHEMA["options"]
    host = [o for o in options if o["scope"] == "host"]
    agent = [o for o in options if o["scope"] == "agent"]
    assert len(fields) == len(host) + 2 * len(agent)
    by_key = {f.key: f for f in fields}
    assert by_key["download.base_url"].label == "Custom CDN"
    assert "Teleport's CDN" in by_key["download.base_url"].help
    assert by_key["agents.web.proxy"].label == "Cluster proxy (web)"
    assert by_key["canary.soak"].hint == "default: 1h"
    assert secrets_from_schema(SCHEMA) == (
        ("proxy-password", "Proxy password"),
        ("mirror-token", "Mirror token"),
        ("webhook-secret", "Webhook secret"),
        ("smtp-password", "Smtp password"),
    )
    extra = {"key": "updates.new_knob", "label": "A new knob", "kind": "gizmo", "default": 3}
    grown = fields_from_schema({**SCHEMA, "options": [*options, extra]}, [])
    assert grown[-1].key == "updates.new_knob" and grown[-1].label == "A new knob"
    assert grown[-1].hint == "default: 3"


def test_every_fields_starting_text_is_what_the_daemon_parses_back_to_the_same_value() -> None:
    settings = Settings().with_changes(
        {
            "canary.order": "staging, prod",
            "canary.soak": "1h30m",
            "notifications.on_update": "false",
            "secrets.backend": "secret-service",
            "download.base_url": "https://mirror.example/teleport/",
            "agents.staging.windows": "mon,wed 02:00 2h Europe/Berlin; sat 03:00 90m",
            "agents.staging.blackouts": "daily 12:00 1h",
            "agents.staging.group": "canary",
        }
    )
    answer = {"settings": settings.as_dict()}
    texts = current_values(answer, fields_from_schema(SCHEMA, ["staging"]))
    assert texts["agents.staging.windows"] == (
        "mon,wed 02:00 2h Europe/Berlin; sat 03:00 1h30m UTC"
    )
    assert texts["canary.order"] == "staging, prod"
    again = Settings().with_changes({k: v or None for k, v in texts.items()})
    assert again.as_dict() == settings.as_dict()
