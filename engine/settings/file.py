"""The settings file: ``<root>/etc/shepherd/settings.toml``, human-editable TOML.

    settings_file = SettingsFile(root)                # <root>/etc/shepherd/settings.toml
    settings = settings_file.load()                   # defaults if missing; schema 1 migrated
    settings = settings_file.set("agents.staging.group", "canary")   # validate, write, return
    settings = settings_file.update({"canary.soak": "2h", "download.base_url": None})
    settings_file.changed_on_disk()                   # someone edited it: reload

Unknown keys and bad values are errors (``InvalidInput``; ``InvalidSetting`` for a change)
that name the key and the value; a write that fails validation leaves the file untouched.
The file is written atomically, mode 0644, by a deterministic renderer (declaration order;
hand-written comments are not kept). It never holds secrets: those live in the keyring
(``engine.settings.secrets``).

Schema: ``schema = 2``. Schema 1 (agent-shepherd 0.0.x) was flat (``http_proxy = …``,
``cdn_base_url = …``, ``[agent.<namespace>]``); it is migrated in memory on load, and on
disk by ``SettingsFile.migrate()`` or the next write.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from engine.errors import InvalidInput
from engine.fsutil import atomic_write
from engine.settings.model import Settings
from engine.settings.schema import AGENT_OPTIONS, OPTIONS, SCHEMA_VERSION, SECTIONS, option_for
from engine.settings.toml_writer import toml_assignment, toml_key

__all__ = [
    "DEFAULT_PATH",
    "SettingsFile",
    "parse_assignment",
    "parse_settings",
    "render_settings",
]

DEFAULT_PATH = "etc/shepherd/settings.toml"
_HEADER = (
    "# agent-shepherd host settings. Edit by hand (then reload) or with\n"
    "# `shepherd settings set KEY=VALUE`; `shepherd settings describe` lists every key.\n"
    "# Secrets (the proxy password, mirror tokens) are never stored here: they live in\n"
    "# the keyring. Comments in this file are not kept when Shepherd rewrites it.\n"
)


def _invalid(key: str, message: str) -> InvalidInput:
    return InvalidInput(f"invalid value for {key}: {message}")


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
        if section not in SECTIONS:
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


def render_settings(settings: Settings) -> str:
    """The file text: deterministic (declaration order), only explicitly set values."""
    blocks = [_HEADER + f"\nschema = {SCHEMA_VERSION}\n"]
    for section in SECTIONS:
        lines = [
            toml_assignment(o.key.split(".", 1)[1], o.kind.to_toml(settings.host[o.key]))
            for o in OPTIONS
            if o.key.startswith(section + ".") and o.key in settings.host
        ]
        if lines:
            blocks.append(f"[{section}]\n" + "\n".join(lines) + "\n")
    for namespace in sorted(settings.agents):
        values = settings.agents[namespace]
        lines = [
            toml_assignment(name, option.kind.to_toml(values[name]))
            for name, option in AGENT_OPTIONS.items()
            if name in values
        ]
        blocks.append(f"[agents.{toml_key(namespace)}]\n" + "".join(f"{x}\n" for x in lines))
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
            InvalidSetting: keys or values were refused (each named); the file is then
                left untouched.
            InvalidInput: the file on disk is invalid.
        """
        settings, _ = self._read()
        settings = settings.with_changes(changes)
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
