"""The API client's errors, importable without the client's HTTP stack (the CLI's ``main``
catches them before it knows whether a command talks to the daemon at all)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import ShepherdError

__all__ = ["ApiError", "DaemonUnavailable"]


class DaemonUnavailable(ShepherdError):
    """Nothing answers on the API socket."""


class ApiError(ShepherdError):
    """The daemon refused: its HTTP status, its message, and any further fields of its
    error answer (``details``, e.g. the ``level`` a refused action needs)."""

    def __init__(self, status: int, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    @property
    def errors(self) -> list[dict[str, Any]]:
        """For a refused settings change: each refused key as ``{key, label, value,
        reason}``; empty for any other error."""
        errors = self.details.get("errors")
        if not isinstance(errors, list):
            return []
        return [e for e in errors if isinstance(e, dict) and isinstance(e.get("key"), str)]
