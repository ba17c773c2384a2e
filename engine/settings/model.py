"""Host settings: one human-editable TOML file, declared once, validated, versioned.

    settings_file = SettingsFile(root)                # <root>/etc/shepherd/settings.toml
    settings = settings_file.load()                   # defaults if missing; schema 1 migrated
    settings.get("network.http_proxy")                # the typed value, or the default
    settings = settings_file.set("agents.staging.group", "canary")   # validate, write, return
    settings = settings_file.update({"canary.soak": "2h", "download.base_url": None})
    settings_file.changed_on_disk()                   # someone edited it: reload
    transport_config(settings, secret_store)          # -> TransportConfig (proxy password)
    describe()                                        # every option with type, default, help

Every option is declared once in ``OPTIONS`` (key, kind, default, description, scope); that
declaration drives parsing (from TOML and from the strings a CLI gives), validation, the
renderer and ``describe()``. Host options live in tables (``[network]``); per-agent options
in ``[agents.<namespace>]``. Unknown keys and bad values are errors (``InvalidInput``) that
name the key and the value; a write that fails validation leaves the file untouched. The
file is written atomically, mode 0644, by a deterministic renderer (hand-written comments
are not kept). It never holds secrets: those live in the keyring (``engine.settings.secrets``).

Schema: ``schema = 2``. Schema 1 (agent-shepherd 0.0.x) was flat (``http_proxy = …``,
``cdn_base_url = …``, ``[agent.<namespace>]``); it is migrated in memory on load, and on
disk by ``SettingsFile.migrate()`` or the next write.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import ssl
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from engine.errors import InvalidInput
from engine.fsutil import atomic_write
from engine.names import validate_namespace
from engine.policy.inputs import DEFAULT_POLL_INTERVAL
from engine.policy.schedule import LocalWindow
from engine.settings.secrets import BACKENDS, SecretStore
from engine.sources.find import validate_proxy_address
from engine.sources.transport import TransportConfig

__all__ = [
    "DEFAULT_PATH",
    "OPTIONS",
    "SCHEMA_VERSION",
    "Option",
    "Settings",
    "SettingsFile",
    "describe",
    "format_duration",
    "option_for",
    "parse_assignment",
    "parse_settings",
    "render_settings",
    "transport_config",
]

SCHEMA_VERSION = 2
DEFAULT_PATH = "etc/shepherd/settings.toml"
_HEADER = (
    "# agent-shepherd host settings. Edit by hand (then reload) or with\n"
    "# `shepherd settings set KEY=VALUE`; `shepherd settings describe` lists every key.\n"
    "# Secrets (the proxy password, mirror tokens) are never stored here: they live in\n"
    "# the keyring. Comments in this file are not kept when Shepherd rewrites it.\n"
)


class _Bad(Exception):
    """A value failed its kind's check; the caller adds the key."""


# --- kinds: how a value is parsed, checked and written --------------------------------------


class _Kind:
    """Parses a value from TOML and from a CLI string, and renders it back to TOML."""

    name = "value"

    def from_toml(self, value: object) -> object:
        raise NotImplementedError

    def from_string(self, text: str) -> object:
        return self.from_toml(text.strip())

    def to_toml(self, value: object) -> object:
        return value

    def show(self, value: object) -> str:
        """The value as a user writes it, for messages (never a credential)."""
        return repr(value)


class _Bool(_Kind):
    name = "bool"
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
            raise _Bad(f"{value!r} is not true or false")
        return value

    def from_string(self, text: str) -> object:
        word = text.strip().lower()
        if word not in self._WORDS:
            raise _Bad(f"{text!r} is not true or false")
        return self._WORDS[word]


@dataclass(frozen=True)
class _Choice(_Kind):
    choices: tuple[str, ...]
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", " | ".join(self.choices))

    def from_toml(self, value: object) -> object:
        if value not in self.choices:
            raise _Bad(f"{value!r} is not one of {', '.join(self.choices)}")
        return value


@dataclass(frozen=True)
class _Text(_Kind):
    pattern: str
    hint: str
    name: str = "text"

    def from_toml(self, value: object) -> object:
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            raise _Bad(f"{value!r} is not valid: {self.hint}")
        return value


@dataclass(frozen=True)
class _Check(_Kind):
    """A string checked by an engine validator that raises InvalidInput."""

    check: Callable[[str], str]
    name: str = "text"

    def from_toml(self, value: object) -> object:
        if not isinstance(value, str):
            raise _Bad(f"{value!r} is not a string")
        try:
            return self.check(value)
        except InvalidInput as e:
            raise _Bad(str(e)) from e


def _redact(url: str) -> str:
    """``url`` with any user:password replaced, safe to put in a message."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()


@dataclass(frozen=True)
class _Url(_Kind):
    schemes: tuple[str, ...]
    allow_path: bool
    name: str = "URL"

    def from_toml(self, value: object) -> object:
        if not isinstance(value, str):
            raise _Bad(f"{value!r} is not a URL string")
        shown = repr(_redact(value))
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as e:
            raise _Bad(f"{shown} is not a valid URL: {e}") from e
        if parts.username is not None or parts.password is not None:
            raise _Bad(
                f"{shown} must not contain credentials: put the user name in "
                "network.proxy_user and the password or token in the keyring "
                "(shepherd secret set)"
            )
        if parts.scheme.lower() not in self.schemes:
            wanted = " or ".join(f"{s}://" for s in self.schemes)
            raise _Bad(f"{shown} must use {wanted}")
        if not parts.hostname:
            raise _Bad(f"{shown} has no host")
        if parts.query or parts.fragment:
            raise _Bad(f"{shown} must not have a query or fragment")
        if not self.allow_path and parts.path not in {"", "/"}:
            raise _Bad(f"{shown} must be scheme://host:port without a path")
        if port is None and not self.allow_path:
            raise _Bad(f"{shown} needs a port, e.g. http://proxy.example:3128")
        return value

    def show(self, value: object) -> str:
        return repr(_redact(str(value)))


class _CaFile(_Kind):
    name = "path to a PEM CA bundle"

    def from_toml(self, value: object) -> object:
        if not isinstance(value, str) or not value:
            raise _Bad(f"{value!r} is not a path")
        path = Path(value)
        if not path.is_absolute():
            raise _Bad(f"{value!r} must be an absolute path")
        if not path.is_file():
            raise _Bad(f"{value!r} does not exist or is not a file")
        if not os.access(path, os.R_OK):
            raise _Bad(f"{value!r} is not readable")
        try:
            ssl.create_default_context(cafile=value)
        except (OSError, ssl.SSLError) as e:
            raise _Bad(f"{value!r} is not a PEM certificate bundle ({e})") from e
        return path

    def to_toml(self, value: object) -> object:
        return str(value)

    def show(self, value: object) -> str:
        return repr(str(value))


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
class _Duration(_Kind):
    minimum: timedelta
    maximum: timedelta
    name: str = "duration (e.g. 90s, 5m, 1h30m, 2d)"

    def from_toml(self, value: object) -> object:
        match = _DURATION.match(value.strip().lower()) if isinstance(value, str) else None
        if match is None or not any(match.groups()):
            raise _Bad(f"{value!r} is not a duration such as 90s, 5m, 1h30m or 2d")
        duration = timedelta(
            days=int(match["d"] or 0),
            hours=int(match["h"] or 0),
            minutes=int(match["m"] or 0),
            seconds=int(match["s"] or 0),
        )
        if not self.minimum <= duration <= self.maximum:
            raise _Bad(
                f"{value!r} is out of range: from {format_duration(self.minimum)} "
                f"to {format_duration(self.maximum)}"
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
        raise _Bad(f"{text!r} is not a valid TOML value ({e})") from e


class _Namespaces(_Kind):
    name = "list of agent namespaces"

    def from_toml(self, value: object) -> object:
        if not isinstance(value, list):
            raise _Bad(f"{value!r} is not a list of namespaces")
        names: list[str] = []
        for item in value:
            if not isinstance(item, str) or not item:
                raise _Bad(f"{item!r} is not an agent namespace")
            try:
                name = validate_namespace(item)
            except InvalidInput as e:
                raise _Bad(str(e)) from e
            if name in names:
                raise _Bad(f"namespace {name!r} is listed twice")
            names.append(name)
        return tuple(names)

    def from_string(self, text: str) -> object:
        stripped = text.strip()
        if stripped.startswith("["):
            return self.from_toml(_inline_toml(stripped))
        return self.from_toml([p.strip() for p in stripped.split(",")] if stripped else [])

    def to_toml(self, value: object) -> object:
        return list(cast(tuple[str, ...], value))


class _Windows(_Kind):
    name = "list of {days, start, duration, timezone}"

    def from_toml(self, value: object) -> object:
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise _Bad(f"{value!r} is not a list of windows")
        windows: list[LocalWindow] = []
        for index, spec in enumerate(value):
            if not isinstance(spec, dict):
                raise _Bad(f"window {index + 1} ({spec!r}) is not a table")
            try:
                windows.append(LocalWindow.parse(spec))
            except InvalidInput as e:
                raise _Bad(f"window {index + 1}: {e}") from e
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
                raise _Bad(
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


# --- the declaration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One setting. ``key`` is dotted; agent options are declared as ``agents.*.<name>``."""

    key: str
    kind: _Kind
    default: object
    description: str

    @property
    def scope(self) -> str:
        return "agent" if self.key.startswith("agents.*.") else "host"

    @property
    def type_name(self) -> str:
        return self.kind.name

    def default_text(self) -> str:
        if self.default is None:
            return "(unset)"
        rendered = self.kind.to_toml(self.default)
        return _toml_value(rendered)


_GROUP = _Text(r"[A-Za-z0-9._-]{1,64}", "letters, digits, '.', '_' and '-' (at most 64)")
_USER = _Text(r"[^\s:\x00-\x1f\x7f]{1,128}", "no spaces, ':' or control characters")


def _validate_channel(name: str) -> str:
    segments = name.split("/")
    if not all(re.fullmatch(r"[A-Za-z0-9._-]+", s) and s not in {".", ".."} for s in segments):
        raise InvalidInput(
            f"invalid v1 channel {name!r}: a name such as stable/cloud or stable/rolling"
        )
    return name


_CHANNEL = _Check(_validate_channel, name="v1 channel name")

OPTIONS: tuple[Option, ...] = (
    Option(
        "secrets.backend",
        _Choice(BACKENDS),
        "file",
        "Where secrets live: 'file' (encrypted, root-only, for a headless host) or "
        "'secret-service' (gnome-keyring/KWallet on the session bus, must be unlocked).",
    ),
    Option(
        "network.http_proxy",
        _Url(("http", "https"), allow_path=False, name="proxy URL (http://host:port)"),
        None,
        "HTTP(S) proxy for every request (cluster and CDN), as http://host:port without "
        "credentials. Unset: the HTTPS_PROXY environment variable, if any.",
    ),
    Option(
        "network.proxy_user",
        _USER,
        None,
        "User name for the HTTP proxy; its password is the 'proxy-password' secret.",
    ),
    Option(
        "network.ca_bundle",
        _CaFile(),
        None,
        "PEM file of CA certificates to trust instead of the system store (an absolute path "
        "to an existing, readable file).",
    ),
    Option(
        "download.base_url",
        _Url(("https",), allow_path=True, name="https URL"),
        None,
        "Custom CDN or private mirror for the agent tarballs (https only). Unset: Teleport's "
        "CDN. A 'mirror-token' secret is sent to it as a bearer token.",
    ),
    Option(
        "canary.order",
        _Namespaces(),
        (),
        "Agent namespaces that update first, in order; the others wait for canary.soak.",
    ),
    Option(
        "canary.soak",
        _Duration(timedelta(0), timedelta(days=30)),
        timedelta(hours=1),
        "How long the canaries must run a new version, healthy, before the others update.",
    ),
    Option(
        "policy.critical_bypasses_local_window",
        _Bool(),
        True,
        "A critical update from the cluster may start outside the local maintenance windows "
        "(never inside a blackout).",
    ),
    Option(
        "policy.poll_interval",
        _Duration(timedelta(seconds=30), timedelta(days=1)),
        DEFAULT_POLL_INTERVAL,
        "How often to ask the cluster for its target version.",
    ),
    Option("notifications.on_update", _Bool(), True, "Notify when an agent was updated."),
    Option("notifications.on_failure", _Bool(), True, "Notify when an update failed."),
    Option("notifications.on_rollback", _Bool(), True, "Notify when an update was rolled back."),
    Option(
        "agents.*.group",
        _GROUP,
        None,
        "The agent's update group (sent to the cluster's find endpoint).",
    ),
    Option(
        "agents.*.proxy",
        _Check(validate_proxy_address, name="host[:port]"),
        None,
        "The cluster's proxy address for this agent, host[:port], no scheme.",
    ),
    Option(
        "agents.*.base_url",
        _Url(("https",), allow_path=True, name="https URL"),
        None,
        "CDN or mirror for this agent only (https only); overrides download.base_url. A "
        "'mirror-token:<namespace>' secret overrides 'mirror-token' for it.",
    ),
    Option(
        "agents.*.channel",
        _CHANNEL,
        None,
        "The v1 release channel, e.g. stable/rolling (v1 clusters only).",
    ),
    Option(
        "agents.*.windows",
        _Windows(),
        (),
        "Local maintenance windows: updates start only inside one (none: any time the "
        "cluster allows).",
    ),
    Option(
        "agents.*.blackouts",
        _Windows(),
        (),
        "Local blackouts: no update starts inside one, critical or not.",
    ),
)
_BY_KEY: dict[str, Option] = {o.key: o for o in OPTIONS}
_SECTIONS: tuple[str, ...] = tuple(
    dict.fromkeys(o.key.split(".")[0] for o in OPTIONS if o.scope == "host")
)
_AGENT_KEYS: tuple[str, ...] = tuple(o.key.split(".", 2)[2] for o in OPTIONS if o.scope == "agent")


def option_for(key: str) -> tuple[Option, str | None]:
    """The option a dotted key names, and the agent namespace for ``agents.<ns>.<name>``.

    Raises:
        InvalidInput: an unknown key or a bad namespace, naming it.
    """
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "agents":
        namespace = parts[1]
        if not namespace:
            raise InvalidInput(f"unknown setting {key!r}: empty agent namespace")
        validate_namespace(namespace)
        declared = _BY_KEY.get(f"agents.*.{parts[2]}")
        if declared is not None:
            return declared, namespace
    elif key in _BY_KEY and not key.startswith("agents."):
        return _BY_KEY[key], None
    raise InvalidInput(f"unknown setting {key!r}; `shepherd settings describe` lists them")


def describe() -> str:
    """Every option with its type, default and description (for docs and CLI help)."""
    lines = []
    for option in OPTIONS:
        key = option.key.replace("agents.*.", "agents.<namespace>.")
        lines.append(f"{key}  ({option.type_name}; default {option.default_text()})")
        lines.append(f"    {option.description}")
    return "\n".join(lines)


# --- the settings value -------------------------------------------------------------------------


def _invalid(key: str, message: str) -> InvalidInput:
    return InvalidInput(f"invalid value for {key}: {message}")


@dataclass(frozen=True)
class Settings:
    """An immutable, validated snapshot. Only values set explicitly are kept; ``get``
    answers the default for the others."""

    host: Mapping[str, object] = field(default_factory=dict)
    agents: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    migrated_from: int | None = field(default=None, compare=False)

    def get(self, key: str) -> object:
        """The typed value of ``key`` (e.g. ``agents.staging.windows``), or its default.

        Raises:
            InvalidInput: an unknown key.
        """
        option, namespace = option_for(key)
        if namespace is None:
            return self.host.get(key, option.default)
        name = key.split(".", 2)[2]
        return self.agents.get(namespace, {}).get(name, option.default)

    def is_set(self, key: str) -> bool:
        _, namespace = option_for(key)
        if namespace is None:
            return key in self.host
        return key.split(".", 2)[2] in self.agents.get(namespace, {})

    @property
    def namespaces(self) -> tuple[str, ...]:
        """The namespaces that have an ``[agents.<namespace>]`` table."""
        return tuple(sorted(self.agents))

    def with_text(self, key: str, text: str) -> Settings:
        """A copy with ``key`` parsed from a string as a CLI gives it.

        Raises:
            InvalidInput: unknown key, or a bad value (both named).
        """
        option, _ = option_for(key)
        try:
            value = option.kind.from_string(text)
        except _Bad as e:
            raise _invalid(key, str(e)) from e
        return self._with(key, value)

    def with_value(self, key: str, value: object) -> Settings:
        """A copy with ``key`` set from a TOML-shaped value (as in the file or JSON)."""
        option, _ = option_for(key)
        try:
            parsed = option.kind.from_toml(value)
        except _Bad as e:
            raise _invalid(key, str(e)) from e
        return self._with(key, parsed)

    def without(self, key: str) -> Settings:
        """A copy with ``key`` back at its default; ``agents.<ns>`` removes the agent."""
        parts = key.split(".")
        if len(parts) == 2 and parts[0] == "agents":
            kept = {ns: v for ns, v in self.agents.items() if ns != parts[1]}
            return replace(self, agents=kept, migrated_from=None)
        _, namespace = option_for(key)
        if namespace is None:
            host = {k: v for k, v in self.host.items() if k != key}
            return replace(self, host=host, migrated_from=None)
        name = key.split(".", 2)[2]
        agents: dict[str, dict[str, object]] = {ns: dict(v) for ns, v in self.agents.items()}
        agents.get(namespace, {}).pop(name, None)
        return replace(self, agents=agents, migrated_from=None)

    def _with(self, key: str, value: object) -> Settings:
        _, namespace = option_for(key)
        if namespace is None:
            return replace(self, host={**self.host, key: value}, migrated_from=None)
        name = key.split(".", 2)[2]
        agents: dict[str, dict[str, object]] = {ns: dict(v) for ns, v in self.agents.items()}
        agents.setdefault(namespace, {})[name] = value
        return replace(self, agents=agents, migrated_from=None)

    def as_dict(self) -> dict[str, Any]:
        """Every effective value, TOML/JSON-shaped, for API answers and ``settings show``:
        ``{"schema": 2, "host": {key: value}, "agents": {ns: {name: value}}}`` with None for
        unset optional values."""
        host = {
            o.key: _plain(o, self.host.get(o.key, o.default)) for o in OPTIONS if o.scope == "host"
        }
        agents = {
            ns: {
                name: _plain(_BY_KEY[f"agents.*.{name}"], values.get(name, option.default))
                for name, option in ((n, _BY_KEY[f"agents.*.{n}"]) for n in _AGENT_KEYS)
            }
            for ns, values in sorted(self.agents.items())
        }
        return {"schema": SCHEMA_VERSION, "host": host, "agents": agents}

    def to_toml(self) -> str:
        return render_settings(self)


def _plain(option: Option, value: object) -> object:
    return None if value is None else option.kind.to_toml(value)


# --- reading: TOML document -> Settings (with migration) -------------------------------------


def _migrate_v1(document: Mapping[str, object]) -> dict[str, Any]:
    """Schema 1 (flat keys, ``[agent.<ns>]``) to the schema 2 document shape. Pure."""
    flat = {
        "secrets_backend": "secrets.backend",
        "http_proxy": "network.http_proxy",
        "proxy_user": "network.proxy_user",
        "ca_bundle": "network.ca_bundle",
        "cdn_base_url": "download.base_url",
        "canary_order": "canary.order",
        "critical_bypasses_local_window": "policy.critical_bypasses_local_window",
    }
    agent_keys = {
        "group": "group",
        "proxy_address": "proxy",
        "cdn_base_url": "base_url",
        "channel": "channel",
        "maintenance_windows": "windows",
        "blackouts": "blackouts",
    }
    out: dict[str, Any] = {"schema": SCHEMA_VERSION}

    def put(dotted: str, value: object) -> None:
        section, name = dotted.split(".", 1)
        out.setdefault(section, {})[name] = value

    for key, value in document.items():
        if key == "schema":
            continue
        if key in flat:
            put(flat[key], value)
        elif key == "canary_soak_minutes":
            put("canary.soak", _minutes(key, value))
        elif key == "poll_interval_seconds":
            put("policy.poll_interval", _seconds(key, value))
        elif key == "notify":
            if not isinstance(value, list) or not all(
                v in {"update", "failure", "rollback"} for v in value
            ):
                raise _invalid(key, f"{value!r} is not a list of update, failure, rollback")
            for event in ("update", "failure", "rollback"):
                put(f"notifications.on_{event}", event in value)
        elif key == "agent" and isinstance(value, dict):
            for namespace, table in value.items():
                if not isinstance(table, dict):
                    raise _invalid(f"agent.{namespace}", f"{table!r} is not a table")
                agent: dict[str, object] = {}
                for name, item in table.items():
                    if name not in agent_keys:
                        raise InvalidInput(f"unknown setting 'agent.{namespace}.{name}' (schema 1)")
                    agent[agent_keys[name]] = item
                out.setdefault("agents", {})[namespace] = agent
        else:
            raise InvalidInput(f"unknown setting {key!r} (schema 1)")
    return out


def _minutes(key: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid(key, f"{value!r} is not a whole number of minutes")
    return f"{value}m" if value else "0s"


def _seconds(key: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid(key, f"{value!r} is not a whole number of seconds")
    return f"{value}s"


def _from_document(document: Mapping[str, object]) -> Settings:
    settings = Settings()
    for section, table in document.items():
        if section == "schema":
            continue
        if section == "agents":
            if not isinstance(table, dict):
                raise InvalidInput("'agents' must be a table of [agents.<namespace>] tables")
            for namespace, values in table.items():
                if not isinstance(values, dict):
                    raise _invalid(f"agents.{namespace}", f"{values!r} is not a table")
                option_for(f"agents.{namespace}.group")  # validates the namespace
                settings = replace(
                    settings, agents={**settings.agents, namespace: {}}
                )  # an empty table still declares the agent
                for name, value in values.items():
                    settings = settings.with_value(f"agents.{namespace}.{name}", value)
            continue
        if section not in _SECTIONS:
            raise InvalidInput(f"unknown setting {section!r}; `shepherd settings describe`")
        if not isinstance(table, dict):
            raise InvalidInput(f"setting {section!r} must be a table ([{section}])")
        for name, value in table.items():
            settings = settings.with_value(f"{section}.{name}", value)
    return settings


def parse_settings(text: str, *, source: str = "settings") -> Settings:
    """Parse and validate a settings document; a schema 1 document is migrated.

    Raises:
        InvalidInput: not TOML, an unknown or too new schema, an unknown key or a bad value;
            the message starts with ``source`` and names the key.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InvalidInput(f"{source}: not valid TOML: {e}") from e
    schema = document.get("schema", SCHEMA_VERSION)
    try:
        if schema == 1:
            return replace(_from_document(_migrate_v1(document)), migrated_from=1)
        if schema != SCHEMA_VERSION or isinstance(schema, bool):
            raise InvalidInput(
                f"unknown settings schema {schema!r}: this Shepherd reads schema 1 and "
                f"{SCHEMA_VERSION} (was the file written by a newer version?)"
            )
        return _from_document(document)
    except InvalidInput as e:
        raise InvalidInput(f"{source}: {e}") from e


# --- writing: Settings -> TOML text -------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"cannot write {value!r} as TOML")  # pragma: no cover - kinds render


def _toml_assignment(name: str, value: object) -> str:
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        rows = "".join(f"    {_toml_value(v)},\n" for v in value)
        return f"{_toml_key(name)} = [\n{rows}]"
    return f"{_toml_key(name)} = {_toml_value(value)}"


def render_settings(settings: Settings) -> str:
    """The file text: deterministic (declaration order), only explicitly set values."""
    blocks = [_HEADER + f"\nschema = {SCHEMA_VERSION}\n"]
    for section in _SECTIONS:
        lines = [
            _toml_assignment(o.key.split(".", 1)[1], o.kind.to_toml(settings.host[o.key]))
            for o in OPTIONS
            if o.key.startswith(section + ".") and o.key in settings.host
        ]
        if lines:
            blocks.append(f"[{section}]\n" + "\n".join(lines) + "\n")
    for namespace in sorted(settings.agents):
        values = settings.agents[namespace]
        lines = [
            _toml_assignment(name, _BY_KEY[f"agents.*.{name}"].kind.to_toml(values[name]))
            for name in _AGENT_KEYS
            if name in values
        ]
        blocks.append(f"[agents.{_toml_key(namespace)}]\n" + "".join(f"{x}\n" for x in lines))
    return "\n".join(blocks)


# --- the file -----------------------------------------------------------------------------------


def parse_assignment(text: str) -> tuple[str, str]:
    """``"agents.staging.group=canary"`` -> ``("agents.staging.group", "canary")``.

    Raises:
        InvalidInput: no ``=``, or an empty key.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise InvalidInput(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


@dataclass(frozen=True)
class _Fingerprint:
    mtime_ns: int
    size: int
    sha256: str


class SettingsFile:
    """The settings file at ``<root>/etc/shepherd/settings.toml`` (or ``path``).

    Not thread-safe: one writer (the daemon) at a time; a human editor may change the file
    between calls, which ``changed_on_disk()`` detects.
    """

    def __init__(self, root: Path, path: Path | None = None) -> None:
        self.root = root
        self.path = path if path is not None else root / DEFAULT_PATH
        self._seen: _Fingerprint | None = None

    def _fingerprint(self) -> _Fingerprint | None:
        try:
            info = self.path.stat()
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return _Fingerprint(info.st_mtime_ns, info.st_size, hashlib.sha256(data).hexdigest())

    def _read(self) -> tuple[Settings, _Fingerprint | None]:
        try:
            data = self.path.read_bytes()
            info = self.path.stat()
        except FileNotFoundError:
            return Settings(), None
        except OSError as e:
            raise InvalidInput(f"cannot read the settings file {str(self.path)!r}: {e}") from e
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidInput(f"{self.path}: not UTF-8 text") from e
        settings = parse_settings(text, source=str(self.path))
        return settings, _Fingerprint(
            info.st_mtime_ns, info.st_size, hashlib.sha256(data).hexdigest()
        )

    def load(self) -> Settings:
        """The settings on disk (defaults when there is no file).

        Raises:
            InvalidInput: the file is unreadable or invalid, naming the file and key.
        """
        settings, self._seen = self._read()
        return settings

    def changed_on_disk(self) -> bool:
        """True when the file differs (content, size or mtime) from the last load/save."""
        return self._fingerprint() != self._seen

    def save(self, settings: Settings) -> None:
        """Write ``settings`` atomically (mode 0644); the directory is created if needed."""
        text = render_settings(settings)
        parse_settings(text, source="rendered settings")  # never write what we cannot read
        self.path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        atomic_write(self.path, text.encode("utf-8"), mode=0o644)
        self._seen = self._fingerprint()

    def update(self, changes: Mapping[str, str | None]) -> Settings:
        """Apply ``{key: text}`` (None = back to the default) to the file, all or nothing.

        Raises:
            InvalidInput: the file on disk is invalid, or a key or value is (named); the
                file is then left untouched.
        """
        settings, _ = self._read()
        for key, text in changes.items():
            settings = settings.without(key) if text is None else settings.with_text(key, text)
        self.save(settings)
        return settings

    def set(self, key: str, value: str) -> Settings:
        """Set one key from a string (``"agents.staging.group"``, ``"canary"``)."""
        return self.update({key: value})

    def unset(self, key: str) -> Settings:
        """Back to the default; ``agents.<namespace>`` removes that agent's table."""
        return self.update({key: None})

    def migrate(self) -> int | None:
        """Rewrite an older-schema file as the current schema, keeping the old text in
        ``settings.toml.schema<N>.bak``. Returns the old schema, or None if nothing to do."""
        settings, _ = self._read()
        if settings.migrated_from is None:
            return None
        backup = self.path.with_name(f"{self.path.name}.schema{settings.migrated_from}.bak")
        atomic_write(backup, self.path.read_bytes(), mode=0o644)
        self.save(settings)
        return settings.migrated_from


# --- what the rest of the engine needs ----------------------------------------------------------


def transport_config(
    settings: Settings, secrets: SecretStore | None, **overrides: Any
) -> TransportConfig:
    """The HTTPS transport these settings describe: CA bundle, proxy URL and user, and the
    proxy password from the secret store (the ``proxy-password`` secret). ``overrides`` are
    passed on to ``TransportConfig`` (timeouts, limits).

    Raises:
        SecretStoreError: the store could not be read (not "no password").
    """
    proxy_url = cast(str | None, settings.get("network.http_proxy"))
    user = cast(str | None, settings.get("network.proxy_user")) if proxy_url else None
    password = secrets.get("proxy-password") if (user and secrets is not None) else None
    return TransportConfig(
        ca_bundle=cast(Path | None, settings.get("network.ca_bundle")),
        proxy_url=proxy_url,
        proxy_username=user,
        proxy_password=password,
        **overrides,
    )
