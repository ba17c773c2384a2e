"""What the tray's About shows: its own version, the daemon's, and a newer Shepherd that apt
offers. Qt-free; the release is ``GET /v1/agents``' (or ``GET /v1``'s) ``shepherd`` field.

    about_text(api.get("/v1/agents").get("shepherd"))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from engine.api.client import shepherd_version
from gui.viewmodel import TrayView

__all__ = ["DESCRIPTION", "about_text", "update_notice", "with_release"]

DESCRIPTION = (
    "Agent Shepherd keeps this host's Teleport agents on the version their cluster wants, "
    "when it is safe, and rolls a bad update back."
)


def update_notice(release: Mapping[str, Any] | None) -> str | None:
    """``Shepherd 0.3.0 available`` when apt offers a newer package, else None."""
    if not release or not release.get("available"):
        return None
    return f"Shepherd {release['available']} available"


def about_text(release: Mapping[str, Any] | None, log_path: object = None) -> str:
    """Lines for the About box; the daemon's part says so when it is not known. ``log_path``:
    where the tray logs, shown last."""
    lines = ["Agent Shepherd", DESCRIPTION, f"Tray {shepherd_version()}"]
    if release and release.get("version"):
        lines.append(f"Daemon {release['version']}")
    else:
        lines.append("Daemon: not reachable")
    notice = update_notice(release)
    if notice:
        lines.append(f"{notice} (installed: {release.get('package') if release else '?'})")
    if log_path is not None:
        lines.append(f"Log: {log_path}")
    return "\n".join(lines)


def with_release(view: TrayView, release: Mapping[str, Any] | None) -> TrayView:
    """The view with ``Shepherd X available`` in its tooltip when apt offers a newer one."""
    notice = update_notice(release)
    if notice is None or not view.daemon_up:
        return view
    return replace(view, tooltip=f"{view.tooltip}\n{notice} (apt upgrade installs it)")
