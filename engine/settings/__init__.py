"""Shepherd's host settings (declared once, validated, stored in settings.toml) and its secrets
(keyring only).
"""

from __future__ import annotations

from engine.settings.model import (
    DEFAULT_PATH,
    OPTIONS,
    SCHEMA_VERSION,
    LocalFields,
    Option,
    Settings,
    SettingsFile,
    describe,
    download_base_url,
    format_duration,
    local_settings,
    local_settings_fields,
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
    "render_settings",
    "transport_config",
    "validate_secret_name",
]
