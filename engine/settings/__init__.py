"""Shepherd's host settings (declared once, validated, stored in settings.toml) and its secrets
(keyring only).

    schema     the declaration of every option (key, label, kind, default, help, host-only)
    kinds      how each kind of value is parsed, checked and written
    model      ``Settings``, the validated value, with typed getters
    file       ``SettingsFile``: read, migrate schema 1, render, atomic write
    secrets    ``SecretStore`` over the chosen keyring backend; secret_file: our own backend
"""

from __future__ import annotations

from engine.settings.file import (
    DEFAULT_PATH,
    SettingsFile,
    parse_assignment,
    parse_settings,
    render_settings,
)
from engine.settings.kinds import format_duration
from engine.settings.model import (
    LocalFields,
    Settings,
    download_base_url,
    local_settings,
    local_settings_fields,
    refusal,
    transport_config,
)
from engine.settings.schema import (
    AGENT_OPTIONS,
    OPTIONS,
    SCHEMA_VERSION,
    Option,
    describe,
    option_for,
    schema_document,
)
from engine.settings.secrets import (
    BACKENDS,
    FILE_STORE_DIR,
    SECRET_NAMES,
    SERVICE,
    EncryptedFileKeyring,
    SecretStore,
    mirror_headers,
    open_store,
    validate_secret_name,
)

__all__ = [
    "AGENT_OPTIONS",
    "BACKENDS",
    "DEFAULT_PATH",
    "FILE_STORE_DIR",
    "OPTIONS",
    "SCHEMA_VERSION",
    "SECRET_NAMES",
    "SERVICE",
    "EncryptedFileKeyring",
    "LocalFields",
    "Option",
    "SecretStore",
    "Settings",
    "SettingsFile",
    "describe",
    "download_base_url",
    "format_duration",
    "local_settings",
    "local_settings_fields",
    "mirror_headers",
    "open_store",
    "option_for",
    "parse_assignment",
    "parse_settings",
    "refusal",
    "render_settings",
    "schema_document",
    "transport_config",
    "validate_secret_name",
]
