"""Where the daemon's API listens and how its agent paths are spelled; importable without
the client's HTTP stack (the CLI's parser names the socket in its ``--help``)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from engine.names import validate_namespace

__all__ = ["DEFAULT_SOCKET", "agent_path", "default_socket"]

DEFAULT_SOCKET = Path("/run/shepherd/api.sock")


def default_socket() -> Path:
    return Path(os.environ.get("SHEPHERD_SOCKET") or DEFAULT_SOCKET)


def agent_path(agent: str, *rest: str) -> str:
    """``/v1/agents/<agent>/...``; raises InvalidInput naming a malformed agent name."""
    return "/".join(["/v1/agents", quote(validate_namespace(agent), safe=""), *rest])
