"""The settings dialog's logic, without Qt: which fields it edits, what a save sends, and
which field an API error belongs to."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "HOST_FIELDS",
    "SECRETS",
    "Field",
    "agent_fields",
    "changes_between",
    "current_values",
    "field_for_error",
]


@dataclass(frozen=True)
class Field:
    key: str  # the settings key; agent fields use "agents.<ns>.<name>"
    label: str
    hint: str


HOST_FIELDS = (
    Field("download.base_url", "Custom CDN", "https://mirror.example/teleport (empty: Teleport's)"),
    Field("network.ca_bundle", "CA bundle", "/etc/ssl/private-ca.pem (empty: system store)"),
    Field("network.http_proxy", "HTTP proxy URL", "http://proxy.example:3128 (no credentials)"),
    Field("network.proxy_user", "Proxy user", "user name for the proxy"),
)


def agent_fields(namespace: str) -> tuple[Field, ...]:
    return (
        Field(f"agents.{namespace}.proxy", f"Cluster proxy ({namespace})", "proxy.example:443"),
        Field(f"agents.{namespace}.group", f"Update group ({namespace})", "default"),
    )


# Secrets the dialog can store (write-only): name -> label.
SECRETS = (("proxy-password", "Proxy password"), ("mirror-token", "Mirror token"))


def current_values(settings_answer: Mapping[str, Any], namespaces: Iterable[str]) -> dict[str, str]:
    """``GET /v1/settings`` -> the text each field starts with ("" for unset)."""
    settings = settings_answer.get("settings") or {}
    host = settings.get("host") or {}
    agents = settings.get("agents") or {}
    values = {f.key: _text(host.get(f.key)) for f in HOST_FIELDS}
    for namespace in namespaces:
        for field in agent_fields(namespace):
            name = field.key.rsplit(".", 1)[1]
            values[field.key] = _text((agents.get(namespace) or {}).get(name))
    return values


def _text(value: object) -> str:
    return "" if value is None else str(value)


def changes_between(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, str | None]:
    """The ``PATCH /v1/settings`` changes: edited fields only; an emptied field -> null
    (back to the default)."""
    changes: dict[str, str | None] = {}
    for key, text in after.items():
        value = text.strip()
        if value != before.get(key, "").strip():
            changes[key] = value or None
    return changes


_INVALID = re.compile(r"invalid value for (?P<key>[\w.*-]+):")


def field_for_error(message: str, keys: Iterable[str]) -> str | None:
    """The field a ``400`` message names ("invalid value for download.base_url: ..."), or
    None when it names none of ``keys``."""
    candidates = list(keys)
    match = _INVALID.search(message)
    if match and match["key"] in candidates:
        return match["key"]
    named = [k for k in candidates if k in message]
    return max(named, key=len) if named else None
