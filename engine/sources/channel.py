"""The v1 version channel (PROTOCOL §4): ``<base>/version`` and ``<base>/critical``."""

from __future__ import annotations

from engine.errors import BadAnswer, InvalidVersion
from engine.versions import Version

__all__ = ["parse_critical", "parse_version_text"]

_TRUE = {"yes", "true"}
_FALSE = {"no", "false"}


def parse_version_text(text: str) -> Version | None:
    """``v17.2.1`` (whitespace trimmed, ``v`` optional) or ``none`` (None).

    Raises:
        BadAnswer: anything else, quoting it.
    """
    value = text.strip()
    if value.lower() == "none":
        return None
    try:
        return Version.parse(value)
    except InvalidVersion as e:
        raise BadAnswer(f"version channel answered {value[:64]!r}, not a version: {e}") from e


def parse_critical(text: str) -> bool:
    """``yes``/``no`` (also ``true``/``false``), any case.

    Raises:
        BadAnswer: anything else, quoting it.
    """
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadAnswer(f"critical flag {text.strip()[:64]!r} is not yes/no/true/false")
