"""``shepherd version`` / ``shepherd --version``: this Shepherd's version, the running
daemon's, and a newer one apt offers (``Shepherd X available``)."""

from __future__ import annotations

import argparse
from typing import Any

from engine.about import shepherd_version
from engine.api.errors import DaemonUnavailable
from engine.cli.exits import EXIT_OK
from engine.cli.view import print_json

__all__ = ["available_line", "version_command", "version_text"]


def version_text() -> str:
    return f"shepherd {shepherd_version()}"


def available_line(release: dict[str, Any] | None) -> str | None:
    """``Shepherd 0.2.0 available (installed: 0.1.0) ...`` when apt offers a newer one, or
    a reminder that the daemon still runs an older build than the one installed (an upgrade
    without systemd to restart it)."""
    if not release:
        return None
    installed, running = release.get("package"), release.get("version")
    if release.get("available"):
        return (
            f"Shepherd {release['available']} available (installed: {installed}): "
            "sudo apt-get update && sudo apt-get install agent-shepherd"
        )
    if installed and running and installed != running:
        return (
            f"the daemon runs Shepherd {running} but {installed} is installed: restart it "
            "(systemctl restart shepherd, or your service manager)"
        )
    return None


def version_command(args: argparse.Namespace) -> int:
    """Never fails for want of a daemon: the CLI's own version is always known."""
    daemon: dict[str, Any] | None
    try:
        from engine.cli.connect import api_for  # noqa: PLC0415 - lazy: not for --help

        hello = api_for(args).get("/v1")
        daemon = {"version": hello.get("version"), "pid": hello.get("pid")}
        release = hello.get("shepherd")
    except DaemonUnavailable as e:
        daemon, release = None, None
        unreachable = str(e)
    if args.json:
        print_json({"version": shepherd_version(), "daemon": daemon, "shepherd": release})
        return EXIT_OK
    print(version_text())
    if daemon is None:
        print(f"daemon: not reachable ({unreachable})")
    else:
        print(f"daemon: {daemon['version']} (pid {daemon['pid']})")
    line = available_line(release)
    if line:
        print(line)
    return EXIT_OK
