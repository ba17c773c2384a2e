"""The tray's autostart, per user (a toggle), never for every account.

    autostart_enabled()          # is ~/.config/autostart/org.agentshepherd.tray.desktop on?
    set_autostart(True)          # write it; set_autostart(False) removes it

The XDG autostart spec: a desktop entry in ``$XDG_CONFIG_HOME/autostart`` (default
``~/.config/autostart``) starts at this user's login; one with ``Hidden=true`` is off.
Qt-free, so the tray's menu toggle and ``shepherd-tray --autostart on|off`` share it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "AUTOSTART_ENTRY",
    "AUTOSTART_NAME",
    "autostart_enabled",
    "autostart_path",
    "set_autostart",
]

AUTOSTART_NAME = "org.agentshepherd.tray.desktop"
AUTOSTART_ENTRY = """\
[Desktop Entry]
Type=Application
Name=Agent Shepherd (tray)
GenericName=Agent Updater
Comment=Tray icon showing the updates of this host's Teleport agents
Exec=shepherd-tray
Icon=agent-shepherd
Terminal=false
Categories=System;Monitor;
NoDisplay=true
X-GNOME-Autostart-enabled=true
"""


def autostart_path(env: Mapping[str, str] | None = None) -> Path:
    """Where this user's autostart entry for the tray lives."""
    env = os.environ if env is None else env
    config = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(config) / "autostart" / AUTOSTART_NAME


def autostart_enabled(env: Mapping[str, str] | None = None) -> bool:
    """True when the tray starts at this user's login (the entry exists, not ``Hidden``)."""
    try:
        text = autostart_path(env).read_text()
    except OSError:
        return False
    lines = {line.strip().replace(" ", "") for line in text.splitlines()}
    return "Hidden=true" not in lines and "X-GNOME-Autostart-enabled=false" not in lines


def set_autostart(enabled: bool, env: Mapping[str, str] | None = None) -> Path:
    """Turn the tray's autostart on (write the entry atomically) or off (remove it).

    Raises:
        OSError: the user's config directory cannot be written.
    """
    path = autostart_path(env)
    if not enabled:
        path.unlink(missing_ok=True)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(AUTOSTART_ENTRY)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
