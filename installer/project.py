"""What the build (``build.py``) and the package layout (``debpkg.py``) share: where the
project is, the apps' folder names, the icon sizes, the project version and the build error.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

__all__ = [
    "APP_DIR_NAME",
    "ICON_SIZES",
    "ROOT",
    "TRAY_DIR_NAME",
    "BuildError",
    "project_version",
]

ROOT = Path(__file__).resolve().parent.parent
APP_DIR_NAME = "agent-shepherd"  # the daemon + CLI folder (and package)
TRAY_DIR_NAME = "agent-shepherd-tray"  # the tray's folder (and package)
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)


class BuildError(Exception):
    """A build step failed; the message says which and why."""


def project_version() -> str:
    """The version in pyproject.toml."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        version: str = tomllib.load(f)["project"]["version"]
    return version
