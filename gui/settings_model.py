"""The settings dialog's logic, without Qt: which fields it edits (built from the daemon's
settings schema, ``GET /v1/settings/schema``), the text each starts with, what a save sends,
and where each refused value's error goes (by its key, from the structured 400 answer).

The dialog declares no setting itself: a key added to the daemon's declaration appears as
a field, with the daemon's label, help and default.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SECRETS_SECTION",
    "Field",
    "changes_between",
    "current_values",
    "error_text",
    "fields_from_schema",
    "in_use_text",
    "place_errors",
    "secrets_from_schema",
    "section_of",
    "value_text",
]

_AGENT_PREFIX = "agents.*."


@dataclass(frozen=True)
class Field:
    key: str  # the settings key; agent fields use "agents.<ns>.<name>"
    label: str  # what the row says: the schema's label (plus the agent for agent fields)
    hint: str  # the placeholder of an empty field
    help: str  # the tooltip
    kind: str  # the schema's kind: "url", "bool", "windows", ...
    host_only: bool = False  # changing it needs an administrator (polkit asks)
    section: str = "General"  # the box of the dialog it is in


# The dialog's sections, in order, by the first part of a host key; agent keys go to their
# agent's "Cluster" section, or to the windows one. A key of a new part gets its own.
_HOST_SECTIONS = {
    "download": "Downloads",
    "network": "Network",
    "secrets": "Network",
    "policy": "Maintenance windows and blackouts",
    "notifications": "Notifications",
    "canary": "Canary",
    "discovery": "Agents found on this host",
    "package": "Packages (v1 hosts)",
}
_WINDOW_NAMES = frozenset({"windows", "blackouts"})
SECRETS_SECTION = "Secrets (write-only)"


def section_of(key: str) -> str:
    """The dialog section of a settings key (``agents.<ns>.<name>`` for agent keys)."""
    parts = key.split(".")
    if parts[0] == "agents" and len(parts) == 3:
        if parts[2] in _WINDOW_NAMES:
            return "Maintenance windows and blackouts"
        return f"Cluster ({parts[1]})"
    return _HOST_SECTIONS.get(parts[0], parts[0].replace("_", " ").capitalize())


# Host keys whose value in use is decided per agent (effective settings), and what an
# unset value means.
_EFFECTIVE_OF_HOST = {"download.base_url": "base_url", "network.ca_bundle": "ca_bundle"}
_UNSET_MEANS = {
    "base_url": "Teleport's CDN",
    "ca_bundle": "the system trust store",
    "proxy": "none",
    "group": "default",
    "channel": "the default channel",
}


def in_use_text(field: Field, agents: Sequence[Mapping[str, Any]]) -> str | None:
    """What the daemon really uses for ``field`` and where it comes from (the agents'
    ``effective`` status), e.g. "in use: https://mirror.example — from command line";
    None for a key the daemon decides from this file alone."""
    parts = field.key.split(".")
    if parts[0] == "agents" and len(parts) == 3:
        name, chosen = parts[2], [a for a in agents if a.get("agent") == parts[1]]
    elif field.key in _EFFECTIVE_OF_HOST:
        name, chosen = _EFFECTIVE_OF_HOST[field.key], list(agents)
    else:
        return None
    seen: dict[tuple[str, str], list[str]] = {}
    for agent in chosen:
        effective = (agent.get("effective") or {}).get(name)
        if not isinstance(effective, Mapping):
            continue
        value = effective.get("value")
        shown = _UNSET_MEANS.get(name, "unset") if value in (None, "") else str(value)
        seen.setdefault((shown, str(effective.get("from") or "?")), []).append(
            str(agent.get("agent"))
        )
    if not seen:
        return None
    if len(seen) == 1 or parts[0] == "agents":
        shown, source = next(iter(seen))
        return f"in use: {shown} — from {source}"
    return "in use: " + "; ".join(
        f"{', '.join(names)}: {shown} (from {source})" for (shown, source), names in seen.items()
    )


def fields_from_schema(schema: Mapping[str, Any], namespaces: Iterable[str]) -> tuple[Field, ...]:
    """Every host option of the schema in its order, then every agent option for each of
    ``namespaces``."""
    options = [o for o in schema.get("options") or () if isinstance(o, dict) and "key" in o]
    fields = [_field(o, str(o["key"]), str(o.get("label") or o["key"])) for o in options]
    fields = [f for f in fields if not f.key.startswith(_AGENT_PREFIX)]
    for namespace in namespaces:
        for option in options:
            key = str(option["key"])
            if key.startswith(_AGENT_PREFIX):
                name = key.removeprefix(_AGENT_PREFIX)
                label = f"{option.get('label') or name} ({namespace})"
                fields.append(_field(option, f"agents.{namespace}.{name}", label))
    return tuple(fields)


def _field(option: Mapping[str, Any], key: str, label: str) -> Field:
    kind = str(option.get("kind") or "text")
    default = option.get("default")
    if default is None or default == []:
        hint = str(option.get("type") or kind) + (" (empty: none)" if default == [] else "")
    else:
        hint = f"default: {value_text(kind, default)}"
    return Field(
        key,
        label,
        hint,
        str(option.get("help") or ""),
        kind,
        host_only=bool(option.get("host_only")),
        section=section_of(key),
    )


def secrets_from_schema(schema: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The secrets the dialog can store (write-only): ``(name, label)``."""
    names = [str(n) for n in schema.get("secrets") or () if isinstance(n, str)]
    return tuple((name, name.replace("-", " ").capitalize()) for name in names)


def value_text(kind: str, value: object) -> str:
    """A value as ``GET /v1/settings`` shapes it -> the text the daemon parses back (as on
    the command line): ``true``, ``staging, prod``, ``mon,wed 02:00 2h Europe/Berlin``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if kind == "windows" and isinstance(value, list):
        return "; ".join(_window_text(w) for w in value if isinstance(w, dict))
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return json.dumps(value)


def _window_text(window: Mapping[str, Any]) -> str:
    days = window.get("days")
    words = [
        ",".join(days) if isinstance(days, list) else str(days or "daily"),
        str(window.get("start", "")),
        str(window.get("duration", "")),
    ]
    if window.get("timezone"):
        words.append(str(window["timezone"]))
    return " ".join(words)


def current_values(settings_answer: Mapping[str, Any], fields: Iterable[Field]) -> dict[str, str]:
    """``GET /v1/settings`` -> the text each field starts with ("" for unset)."""
    settings = settings_answer.get("settings") or {}
    host = settings.get("host") or {}
    agents = settings.get("agents") or {}
    values = {}
    for field in fields:
        parts = field.key.split(".", 2)
        if parts[0] == "agents" and len(parts) == 3:
            value = (agents.get(parts[1]) or {}).get(parts[2])
        else:
            value = host.get(field.key)
        values[field.key] = value_text(field.kind, value)
    return values


def changes_between(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, str | None]:
    """The ``PATCH /v1/settings`` changes: edited fields only; an emptied field -> null
    (back to the default)."""
    changes: dict[str, str | None] = {}
    for key, text in after.items():
        value = text.strip()
        if value != before.get(key, "").strip():
            changes[key] = value or None
    return changes


def error_text(error: Mapping[str, Any]) -> str:
    """One refused value as the dialog shows it beside its field: the label and the reason
    first, then what was entered and the key (for the CLI)."""
    label = error.get("label") or error.get("key")
    value = error.get("value")
    entered = f" — you entered “{value}”" if value else ""
    return f"{label}: {error.get('reason')}{entered} ({error.get('key')})"


def place_errors(
    errors: Sequence[Mapping[str, Any]], keys: Iterable[str]
) -> tuple[dict[str, str], list[str]]:
    """The structured errors of a refused save -> ``({field key: text}, [texts of errors
    for keys the dialog has no field for])``."""
    shown = set(keys)
    placed: dict[str, str] = {}
    elsewhere: list[str] = []
    for error in errors:
        key = error.get("key")
        text = error_text(error)
        if key in shown:
            placed[str(key)] = f"{placed[str(key)]}\n{text}" if key in placed else text
        else:
            elsewhere.append(text)
    return placed, elsewhere
