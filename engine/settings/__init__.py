"""Shepherd's host settings (declared once, validated, stored in settings.toml) and its secrets
(keyring only).
"""

from __future__ import annotations

from engine.settings.model import (
    DEFAULT_PATH,
    OPTIONS,
    SCHEMA_VERSION,
    Option,
    Settings,
    SettingsFile,
    describe,
    format_duration,
    option_for,
    parse_assignment,
    parse_settings,
    render_settings,
    transport_config,
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
    "BACKENDS",
    "DEFAULT_PATH",
    "FILE_STORE_DIR",
    "OPTIONS",
    "SCHEMA_VERSION",
    "SECRET_NAMES",
    "SERVICE",
    "EncryptedFileKeyring",
    "Option",
    "SecretStore",
    "Settings",
    "SettingsFile",
    "describe",
    "format_duration",
    "mirror_headers",
    "open_store",
    "option_for",
    "parse_assignment",
    "parse_settings",
    "render_settings",
    "transport_config",
    "validate_secret_name",
]
