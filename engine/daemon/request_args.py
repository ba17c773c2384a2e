"""Reading a request's arguments: each bad one is a 400 naming it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.daemon.http import HttpError
from engine.errors import InvalidSetting
from engine.settings.model import refusal

__all__ = ["bool_field", "changes", "flag", "int_query", "refused", "since"]


def changes(body: dict[str, Any]) -> dict[str, str | None]:
    changes = body.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise HttpError(400, 'expected {"changes": {"<key>": "<value>" or null, ...}}')
    for key, value in changes.items():
        if value is not None and not isinstance(value, str):
            reason = "must be a string (as on the command line) or null for the default"
            raise refusal(key, value, reason, f"the value for {key!r} {reason}")
    return changes


def refused(error: InvalidSetting) -> list[dict[str, str]]:
    """The structured form of a refused settings change: one entry per key."""
    return [
        {"key": p.key, "label": p.label, "value": p.value, "reason": p.reason}
        for p in error.problems
    ]


def since(text: str | None) -> str | None:
    """An ISO 8601 time as the history stores it (UTC, seconds); 400 naming a bad one."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise HttpError(
            400, f"query parameter 'since' {text[:40]!r} is not an ISO 8601 time"
        ) from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC).isoformat(timespec="seconds")
    except OverflowError as e:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise HttpError(400, f"query parameter 'since' {text[:40]!r} is out of range") from e


def flag(query: dict[str, str], name: str) -> bool:
    value = query.get(name, "").lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise HttpError(400, f"query parameter {name!r} must be true or false, not {value[:20]!r}")


def bool_field(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise HttpError(400, f"{name!r} must be true or false, not {value!r}"[:200])
    return value


def int_query(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    # ASCII digits only: str.isdigit() also accepts '²', which int() then refuses
    if not (text.isascii() and text.isdigit()) or len(text) > 12 or not low <= int(text) <= high:
        raise HttpError(400, f"query parameter {name!r} must be an integer in [{low}, {high}]")
    return int(text)
