"""The kinds of settings values: how each is parsed (from TOML and from the string a CLI or
the API gives), checked, written back to TOML and shown in messages.

    Duration(timedelta(0), timedelta(days=30)).from_string("1h30m")   # -> timedelta
    Url(("https",), allow_path=True).from_toml("http://x")            # raises BadValue

A refused value raises ``BadValue``: its ``reason`` reads on its own next to a field ("must
use https://"); its ``subject`` is the value as a message shows it (credentials redacted)
when the reason is about the whole value. The settings value (``engine.settings.model``)
turns it into ``InvalidSetting`` naming the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import cast
from urllib.parse import urlsplit

from engine.errors import InvalidInput
from engine.names import validate_namespace
from engine.policy.schedule import LocalWindow

__all__ = [
    "BadValue",
    "Bool",
    "Check",
    "Choice",
    "Count",
    "Duration",
    "Kind",
    "Namespaces",
    "Text",
    "Url",
    "Windows",
    "Words",
    "format_duration",
    "redact",
]


class BadValue(Exception):
    """A value failed its kind's check; the caller adds the key."""

    def __init__(self, reason: str, subject: str | None = None) -> None:
        super().__init__(f"{subject} {reason}" if subject else reason)
        self.reason = reason
        self.subject = subject


def redact(text: str) -> str:
    """``text`` with the user:password of a URL in it replaced, safe to put in a message."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if "@" not in parts.netloc:
        return text
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()


class Kind:
    """Parses a value from TOML and from a CLI string, and renders it back to TOML."""

    name = "value"  # for people: "duration (e.g. 90s, 5m, 1h30m, 2d)"
    kind = "value"  # for programs (the served schema): "duration"

    def from_toml(self, value: object) -> object:
        raise NotImplementedError

    def from_string(self, text: str) -> object:
        return self.from_toml(text.strip())

    def to_toml(self, value: object) -> object:
        return value

    def show(self, value: object) -> str:
        """The value as a user writes it, for messages (never a credential)."""
        return repr(value)


class Bool(Kind):
    name = kind = "bool"
    _WORDS: Mapping[str, bool] = {
        "true": True,
        "yes": True,
        "on": True,
        "1": True,
        "false": False,
        "no": False,
        "off": False,
        "0": False,
    }

    def from_toml(self, value: object) -> object:
        if not isinstance(value, bool):
            raise BadValue("is not true or false", repr(value))
        return value

    def from_string(self, text: str) -> object:
        word = text.strip().lower()
        if word not in self._WORDS:
            raise BadValue("is not true or false", repr(text))
        return self._WORDS[word]


@dataclass(frozen=True)
class Count(Kind):
    minimum: int
    maximum: int
    name: str = "whole number"
    kind: str = "count"

    def from_toml(self, value: object) -> object:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadValue("is not a whole number", repr(value))
        if not self.minimum <= value <= self.maximum:
            raise BadValue(f"is out of range: from {self.minimum} to {self.maximum}", repr(value))
        return value


@dataclass(frozen=True)
class Choice(Kind):
    choices: tuple[str, ...]
    name: str = ""
    kind: str = "choice"

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", " | ".join(self.choices))

    def from_toml(self, value: object) -> object:
        if value not in self.choices:
            raise BadValue(f"is not one of {', '.join(self.choices)}", repr(value))
        return value


@dataclass(frozen=True)
class Text(Kind):
    pattern: str
    hint: str
    name: str = "text"
    kind: str = "text"

    def from_toml(self, value: object) -> object:
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            raise BadValue(f"is not valid: {self.hint}", repr(value))
        return value


@dataclass(frozen=True)
class Check(Kind):
    """A string checked by an engine validator that raises InvalidInput."""

    check: Callable[[str], str]
    name: str = "text"
    kind: str = "text"

    def from_toml(self, value: object) -> object:
        if not isinstance(value, str):
            raise BadValue("is not a string", repr(value))
        try:
            return self.check(value)
        except InvalidInput as e:
            raise BadValue(str(e)) from e


@dataclass(frozen=True)
class Url(Kind):
    schemes: tuple[str, ...]
    allow_path: bool
    name: str = "URL"
    kind: str = "url"

    def from_toml(self, value: object) -> object:
        if not isinstance(value, str):
            raise BadValue("is not a URL string", repr(value))
        shown = repr(redact(value))
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as e:
            raise BadValue(f"is not a valid URL: {e}", shown) from e
        if parts.username is not None or parts.password is not None:
            raise BadValue(
                "must not contain credentials: put the user name in network.proxy_user and "
                "the password or token in the keyring (shepherd secret set)",
                shown,
            )
        if parts.scheme.lower() not in self.schemes:
            raise BadValue("must use " + " or ".join(f"{s}://" for s in self.schemes), shown)
        if not parts.hostname:
            raise BadValue("has no host", shown)
        if parts.query or parts.fragment:
            raise BadValue("must not have a query or fragment", shown)
        if not self.allow_path and parts.path not in {"", "/"}:
            raise BadValue("must be scheme://host:port without a path", shown)
        if port is None and not self.allow_path:
            raise BadValue("needs a port, e.g. http://proxy.example:3128", shown)
        return value

    def show(self, value: object) -> str:
        return repr(redact(str(value)))


_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def format_duration(value: timedelta) -> str:
    total = int(value.total_seconds())
    if total == 0:
        return "0s"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n)


@dataclass(frozen=True)
class Duration(Kind):
    minimum: timedelta
    maximum: timedelta
    name: str = "duration (e.g. 90s, 5m, 1h30m, 2d)"
    kind: str = "duration"

    def from_toml(self, value: object) -> object:
        match = _DURATION.match(value.strip().lower()) if isinstance(value, str) else None
        if match is None or not any(match.groups()):
            raise BadValue("is not a duration such as 90s, 5m, 1h30m or 2d", repr(value))
        duration = timedelta(
            days=int(match["d"] or 0),
            hours=int(match["h"] or 0),
            minutes=int(match["m"] or 0),
            seconds=int(match["s"] or 0),
        )
        if not self.minimum <= duration <= self.maximum:
            raise BadValue(
                f"is out of range: from {format_duration(self.minimum)} "
                f"to {format_duration(self.maximum)}",
                repr(value),
            )
        return duration

    def to_toml(self, value: object) -> object:
        return format_duration(cast(timedelta, value))

    def show(self, value: object) -> str:
        return repr(format_duration(value)) if isinstance(value, timedelta) else repr(value)


def _inline_toml(text: str) -> object:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError as e:
        raise BadValue(f"is not a valid TOML value ({e})", repr(text)) from e


class Namespaces(Kind):
    name = "list of agent namespaces"
    kind = "namespaces"
    item = "namespace"

    def from_toml(self, value: object) -> object:
        if not isinstance(value, list):
            raise BadValue(f"is not a list of {self.item}s", repr(value))
        names: list[str] = []
        for item in value:
            name = self._one(item)
            if name in names:
                raise BadValue(f"{self.item} {name!r} is listed twice")
            names.append(name)
        return tuple(names)

    def _one(self, item: object) -> str:
        if not isinstance(item, str) or not item:
            raise BadValue(f"{item!r} is not an agent namespace")
        try:
            return validate_namespace(item)
        except InvalidInput as e:
            raise BadValue(str(e)) from e

    def from_string(self, text: str) -> object:
        stripped = text.strip()
        if stripped.startswith("["):
            return self.from_toml(_inline_toml(stripped))
        return self.from_toml([p.strip() for p in stripped.split(",")] if stripped else [])

    def to_toml(self, value: object) -> object:
        return list(cast(tuple[str, ...], value))


class Words(Namespaces):
    """A list of distinct words, each one of ``choices`` (``updated, failed``)."""

    kind = "words"
    item = "word"

    def __init__(self, choices: tuple[str, ...]) -> None:
        self.choices = choices
        self.name = "list of " + " | ".join(choices)

    def _one(self, item: object) -> str:
        if item not in self.choices:
            raise BadValue(f"{item!r} is not one of {', '.join(self.choices)}")
        return str(item)


class Windows(Kind):
    name = "list of {days, start, duration, timezone}"
    kind = "windows"

    def from_toml(self, value: object) -> object:
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise BadValue("is not a list of windows", repr(value))
        windows: list[LocalWindow] = []
        for index, spec in enumerate(value):
            if not isinstance(spec, dict):
                raise BadValue(f"window {index + 1} ({spec!r}) is not a table")
            try:
                windows.append(LocalWindow.parse(spec))
            except InvalidInput as e:
                raise BadValue(f"window {index + 1}: {e}") from e
        return tuple(windows)

    def from_string(self, text: str) -> object:
        """A TOML array/table, or ``DAYS HH:MM DURATION [TIMEZONE]`` entries separated by
        ``;`` (days comma-separated), e.g. ``mon,wed 02:00 2h Europe/Berlin; sat 03:00 1h``."""
        stripped = text.strip()
        if stripped.startswith(("[", "{")):
            return self.from_toml(_inline_toml(stripped))
        specs: list[dict[str, object]] = []
        for entry in filter(None, (e.strip() for e in stripped.split(";"))):
            words = entry.split()
            if len(words) not in {3, 4}:
                raise BadValue(
                    f"{entry!r} is not a window: expected DAYS HH:MM DURATION [TIMEZONE], "
                    "e.g. 'mon,wed 02:00 2h Europe/Berlin'"
                )
            spec: dict[str, object] = {
                "days": words[0].split(","),
                "start": words[1],
                "duration": words[2],
            }
            if len(words) == 4:
                spec["timezone"] = words[3]
            specs.append(spec)
        return self.from_toml(specs)

    def to_toml(self, value: object) -> object:
        return [w.to_spec() for w in cast(tuple[LocalWindow, ...], value)]

    def show(self, value: object) -> str:
        if isinstance(value, tuple):
            return repr(self.to_toml(value))
        return repr(value)
