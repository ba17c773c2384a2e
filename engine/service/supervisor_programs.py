"""An agent's supervisord program section, and where supervisord reads it from.

supervisord has no unit files: a program is a ``[program:NAME]`` section in a file its
``[include] files = DIR/*.conf`` names. ``shepherd install`` writes ``DIR/NAME.conf`` there
(what a systemd host gets as ``teleport_<ns>.service``); ``uninstall`` removes it.
"""

from __future__ import annotations

import configparser
import fnmatch
import re
import shlex
from pathlib import Path

from engine.errors import ServiceError
from engine.service.base import AgentUnit

__all__ = ["program_file", "program_section"]

_PROGRAM_NAME = re.compile(r"[A-Za-z0-9_-]+")


def program_file(config: Path, name: str) -> Path:
    """The file for program ``name``: in the first ``[include] files`` pattern of the form
    ``DIR/*SUFFIX`` (relative patterns are relative to the config's directory).

    Raises:
        ServiceError: the config is unreadable or includes no such directory.
    """
    if not _PROGRAM_NAME.fullmatch(name):
        raise ServiceError(f"{name!r} is not a usable supervisord program name")
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    try:
        with config.open() as stream:
            parser.read_file(stream)
    except (OSError, configparser.Error) as e:
        raise ServiceError(f"cannot read the supervisord config {config}: {e}") from e
    patterns = parser.get("include", "files", fallback="").split()
    for pattern in patterns:
        path = Path(pattern) if pattern.startswith("/") else config.parent / pattern
        if path.name.count("*") != 1 or any(c in str(path.parent) for c in "*?["):
            continue
        candidate = path.parent / path.name.replace("*", name)
        if fnmatch.fnmatch(candidate.name, path.name):
            return candidate
    raise ServiceError(
        f"the supervisord config {config} has no '[include] files = DIR/*.conf': there is "
        f"nowhere to add the agent's program {name!r}"
    )


def program_section(unit: AgentUnit) -> str:
    """The ``[program:NAME]`` section that runs ``unit.command`` the way a systemd unit would:
    started with supervisord, restarted when it dies, and its whole process group stopped."""
    return "\n".join(
        [
            "; written by shepherd install; removed by shepherd uninstall",
            f"[program:{unit.name}]",
            # supervisord expands %(name)s in values: a literal % is written %%
            f"command={shlex.join(unit.command).replace('%', '%%')}",
            "autostart=true",
            "autorestart=true",
            "startsecs=0",
            "startretries=1000",
            "stopsignal=TERM",
            "stopwaitsecs=10",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            "",
        ]
    )
