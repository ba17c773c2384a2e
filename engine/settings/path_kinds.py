"""Kinds whose values are files on this host (a CA bundle, a repository's signing key):
checked when set, as absolute, readable paths."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from engine.settings.kinds import BadValue, Kind

__all__ = ["CaFile", "KeyFile"]


class CaFile(Kind):
    name = "path to a PEM CA bundle"
    kind = "path"

    def from_toml(self, value: object) -> object:
        if not isinstance(value, str) or not value:
            raise BadValue("is not a path", repr(value))
        path = Path(value)
        if not path.is_absolute():
            raise BadValue("must be an absolute path", repr(value))
        if not path.is_file():
            raise BadValue("does not exist or is not a file", repr(value))
        if not os.access(path, os.R_OK):
            raise BadValue("is not readable", repr(value))
        try:
            ssl.create_default_context(cafile=value)
        except (OSError, ssl.SSLError) as e:
            raise BadValue(f"is not a PEM certificate bundle ({e})", repr(value)) from e
        return path

    def to_toml(self, value: object) -> object:
        return str(value)

    def show(self, value: object) -> str:
        return repr(str(value))


class KeyFile(Kind):
    """An absolute path to a readable file (a repository's public signing key)."""

    name = "path to a public key file"
    kind = "path"

    def from_toml(self, value: object) -> object:
        if not isinstance(value, str) or not value:
            raise BadValue("is not a path", repr(value))
        path = Path(value)
        if not path.is_absolute():
            raise BadValue("must be an absolute path", repr(value))
        if not path.is_file() or not os.access(path, os.R_OK):
            raise BadValue("is not a readable file", repr(value))
        return path

    def to_toml(self, value: object) -> object:
        return str(value)

    def show(self, value: object) -> str:
        return repr(str(value))
