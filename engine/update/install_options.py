"""What ``shepherd install`` is asked (teleport-update's options) and what it answers, the
agent's unit as a service manager runs it, and the proxy the agent config names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import InvalidInput
from engine.names import validate_namespace
from engine.service.base import AgentUnit
from engine.store.layout import Layout
from engine.store.update_yaml import SAFE_LOADER

__all__ = ["InstallReport", "InstallRequest", "agent_unit", "config_proxy"]

_MAX_AGENT_CONFIG_BYTES = 1 << 20


@dataclass(frozen=True)
class InstallRequest:
    """teleport-update's options: ``--proxy``, ``--group``, ``--base-url``, the namespace
    (``--install-suffix``; here the agent name) and ``--link-dir``; ``force`` is
    ``--overwrite``. None: update.yaml's defaults (the proxy from the agent config)."""

    namespace: str
    proxy: str | None = None
    group: str | None = None
    base_url: str | None = None
    link_dir: str | None = None
    force: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "namespace", validate_namespace(self.namespace))
        if self.base_url is not None and not self.base_url.lower().startswith("https://"):
            raise InvalidInput(f"the base URL {self.base_url!r} must use TLS (https://)")
        if self.link_dir is not None and not self.link_dir.startswith("/"):
            raise InvalidInput(f"the link dir {self.link_dir!r} must be an absolute path")

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> InstallRequest:
        """From the API's body; names the field that is not what it should be."""
        texts: dict[str, str | None] = {}
        for key in ("proxy", "group", "base_url", "link_dir"):
            value = body.get(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise InvalidInput(f"{key!r} must be a non-empty string, not {value!r}")
            texts[key] = value.strip() if isinstance(value, str) else None
        agent, force = body.get("agent"), body.get("force", False)
        if not isinstance(agent, str):
            raise InvalidInput(f"'agent' must be the namespace to install, not {agent!r}")
        if not isinstance(force, bool):
            raise InvalidInput(f"'force' must be true or false, not {force!r}")
        return cls(agent, force=force, **texts)


@dataclass(frozen=True)
class InstallReport:
    agent: str
    active: str
    unit: str
    link_dir: str
    message: str
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "active": self.active,
            "unit": self.unit,
            "link_dir": self.link_dir,
            "message": self.message,
            "notes": self.notes,
        }


def agent_unit(layout: Layout) -> AgentUnit:
    """The namespace's unit as the service manager runs it (the command is the unit's
    ``ExecStart``, for managers without unit files)."""
    command = [str(layout.link_dir / "teleport"), "start", "--config", str(layout.agent_config)]
    command += ["--pid-file", str(layout.pid_file)]
    return AgentUnit(layout.unit_name, command, layout.unit_file)


def config_proxy(agent_config: Path) -> str | None:
    """``teleport.proxy_server`` (else ``auth_server``) of the agent config, as
    teleport-update falls back to it; None when it names none or cannot be read."""
    try:
        with agent_config.open("rb") as stream:
            raw = stream.read(_MAX_AGENT_CONFIG_BYTES + 1)
        document = next(iter(yaml.load_all(raw.decode(errors="replace"), Loader=SAFE_LOADER)))
    except (OSError, yaml.YAMLError, ValueError, StopIteration, RecursionError):
        return None
    teleport = document.get("teleport") if isinstance(document, dict) else None
    if not isinstance(teleport, dict) or len(raw) > _MAX_AGENT_CONFIG_BYTES:
        return None
    for key in ("proxy_server", "auth_server"):
        value = teleport.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
