"""Shepherd's host settings (declared once, validated, stored in settings.toml) and its secrets
(keyring only).

    schema     the declaration of every option (key, label, kind, default, help, host-only)
    kinds      how each kind of value is parsed, checked and written
    model      ``Settings``, the validated value, with typed getters
    file       ``SettingsFile``: read, migrate schema 1, render, atomic write
    secrets    ``SecretStore`` over the chosen keyring backend; secret_names (the names),
               keyring_file (our encrypted file backend), keyring_desktop (Secret Service)
"""

from __future__ import annotations

from typing import Any

from engine.settings.file import (
    DEFAULT_PATH,
    SettingsFile,
    parse_assignment,
    parse_settings,
    render_settings,
)
from engine.settings.kinds import (
    BadValue,
    Bool,
    Check,
    Choice,
    Duration,
    Kind,
    Namespaces,
    Text,
    Url,
    Windows,
    format_duration,
    redact,
)
from engine.settings.model import Settings, refusal, transport_config
from engine.settings.path_kinds import CaFile
from engine.settings.schema import (
    AGENT_OPTIONS,
    OPTIONS,
    SCHEMA_VERSION,
    SECTIONS,
    Option,
    describe,
    option_for,
    schema_document,
)
from engine.settings.secret_names import (
    BACKENDS,
    FILE_STORE_DIR,
    SECRET_NAMES,
    SERVICE,
    validate_secret_name,
)
from engine.settings.secrets import SecretStore, mirror_headers, open_store
from engine.settings.toml_writer import toml_assignment, toml_key, toml_value

__all__ = [
    "AGENT_OPTIONS",
    "BACKENDS",
    "DEFAULT_PATH",
    "FILE_STORE_DIR",
    "OPTIONS",
    "SCHEMA_VERSION",
    "SECRET_NAMES",
    "SECTIONS",
    "SERVICE",
    "BadValue",
    "Bool",
    "CaFile",
    "Check",
    "Choice",
    "Duration",
    "EncryptedFileKeyring",
    "Kind",
    "Namespaces",
    "Option",
    "SecretStore",
    "Settings",
    "SettingsFile",
    "Text",
    "Url",
    "Windows",
    "describe",
    "format_duration",
    "mirror_headers",
    "open_store",
    "option_for",
    "parse_assignment",
    "parse_settings",
    "redact",
    "refusal",
    "render_settings",
    "schema_document",
    "secret_service_backend",
    "toml_assignment",
    "toml_key",
    "toml_value",
    "transport_config",
    "validate_secret_name",
]


def __getattr__(name: str) -> Any:
    # the Secret Service backend loads secretstorage, jeepney and cryptography (~7 MB): only
    # for a host whose secrets.backend is secret-service, when it is first asked for
    # and keyring itself (~2 MB) only when a secret is first used
    if name == "secret_service_backend":
        from engine.settings.keyring_desktop import secret_service_backend  # noqa: PLC0415

        return secret_service_backend
    if name == "EncryptedFileKeyring":
        from engine.settings.keyring_file import EncryptedFileKeyring  # noqa: PLC0415

        return EncryptedFileKeyring
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
