"""What one setting's declaration is (``Option``): key, label, kind, default, help, scope and
the host-only mark. Every option is declared in ``engine.settings.schema``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.settings.kinds import Choice, Kind, Words
from engine.settings.toml_writer import toml_value

__all__ = ["Option"]


@dataclass(frozen=True)
class Option:
    """One setting. ``key`` is dotted; agent options are declared as ``agents.*.<name>``."""

    key: str
    label: str  # what a person calls it: "Custom CDN"
    kind: Kind
    default: object
    description: str
    host_only: bool = False

    @property
    def scope(self) -> str:
        return "agent" if self.key.startswith("agents.*.") else "host"

    @property
    def type_name(self) -> str:
        return self.kind.name

    def plain(self, value: object) -> object:
        """``value`` TOML/JSON-shaped (``"1h"``, ``[{"days": ...}]``); None stays None."""
        return None if value is None else self.kind.to_toml(value)

    def default_text(self) -> str:
        if self.default is None:
            return "(unset)"
        return toml_value(self.plain(self.default))

    def as_json(self) -> dict[str, Any]:
        """This option as ``GET /v1/settings/schema`` serves it."""
        answer: dict[str, Any] = {
            "key": self.key,
            "label": self.label,
            "kind": self.kind.kind,
            "type": self.type_name,
            "default": self.plain(self.default),
            "help": self.description,
            "scope": self.scope,
            "host_only": self.host_only,
            "secret": False,
        }
        if isinstance(self.kind, Choice | Words):
            answer["choices"] = list(self.kind.choices)
        return answer
