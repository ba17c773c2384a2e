"""Agent namespace names: the one rule every layer and every client checks them by."""

from __future__ import annotations

import re

from engine.errors import InvalidInput

__all__ = ["DEFAULT_NAMESPACE", "RESERVED", "is_namespace_name", "validate_namespace"]

DEFAULT_NAMESPACE = "default"
RESERVED = frozenset({"system"})
_NAMESPACE = re.compile(r"^[a-zA-Z0-9-]+$")


def validate_namespace(name: str | None) -> str:
    """The namespace name, ``default`` for empty; raises InvalidInput naming a bad one."""
    if not name:
        return DEFAULT_NAMESPACE
    if not _NAMESPACE.fullmatch(name):
        raise InvalidInput(f"invalid agent namespace {name!r}: use letters, digits and '-' only")
    if name in RESERVED:
        raise InvalidInput(f"agent namespace {name!r} is reserved")
    return name


def is_namespace_name(name: str) -> bool:
    """Whether ``name`` is a usable namespace as it stands (no default for empty)."""
    return bool(_NAMESPACE.fullmatch(name)) and name not in RESERVED
