"""Agent namespace names: the one rule every layer and every client checks them by."""

from __future__ import annotations

import re

from engine.errors import InvalidInput

__all__ = [
    "DEFAULT_NAMESPACE",
    "MAX_NAMESPACE_LENGTH",
    "RESERVED",
    "is_namespace_name",
    "validate_namespace",
]

DEFAULT_NAMESPACE = "default"
RESERVED = frozenset({"system"})
_NAMESPACE = re.compile(r"^[a-zA-Z0-9-]+$")
# its directory (/opt/teleport/NAME) and unit (teleport_NAME.service) must fit the
# filesystem's and systemd's 255-character names with room to spare
MAX_NAMESPACE_LENGTH = 100


def validate_namespace(name: str | None) -> str:
    """The namespace name, ``default`` for empty; raises InvalidInput naming a bad one."""
    if not name:
        return DEFAULT_NAMESPACE
    if len(name) > MAX_NAMESPACE_LENGTH:
        raise InvalidInput(
            f"invalid agent namespace {name[:20]!r}... ({len(name)} characters): at most "
            f"{MAX_NAMESPACE_LENGTH}"
        )
    if not _NAMESPACE.fullmatch(name):
        raise InvalidInput(f"invalid agent namespace {name!r}: use letters, digits and '-' only")
    if name in RESERVED:
        raise InvalidInput(f"agent namespace {name!r} is reserved")
    return name


def is_namespace_name(name: str) -> bool:
    """Whether ``name`` is a usable namespace as it stands (no default for empty)."""
    return (
        len(name) <= MAX_NAMESPACE_LENGTH
        and bool(_NAMESPACE.fullmatch(name))
        and name not in RESERVED
    )
