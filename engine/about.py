"""Shepherd's own version: one source, ``pyproject.toml``'s ``project.version``.

The frozen build carries it as ``engine/VERSION`` (written by ``installer.build``); a source
tree reads ``pyproject.toml`` beside the ``engine`` package; an installed wheel its metadata.
"""

from __future__ import annotations

import functools
from pathlib import Path

__all__ = ["DISTRIBUTION", "VERSION_FILE", "shepherd_version"]

DISTRIBUTION = "agent-shepherd"
VERSION_FILE = "VERSION"  # inside the engine package of a frozen build


@functools.cache
def shepherd_version() -> str:
    """This Shepherd's version, e.g. ``0.1.0`` (``unknown`` if no source says it)."""
    package = Path(__file__).resolve().parent
    frozen = package / VERSION_FILE  # PyInstaller unpacks package data beside the modules
    if frozen.is_file():
        return frozen.read_text().strip()
    pyproject = package.parent / "pyproject.toml"
    if pyproject.is_file():
        import tomllib  # noqa: PLC0415 - a source tree only

        with pyproject.open("rb") as stream:
            project = tomllib.load(stream).get("project", {})
        if project.get("name") == DISTRIBUTION and isinstance(project.get("version"), str):
            return str(project["version"])
    # imported last: importlib.metadata alone costs the tray ~3 MB resident and a command
    # line ~30 ms to start
    import importlib.metadata  # noqa: PLC0415

    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
