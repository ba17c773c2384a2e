"""Which agents Shepherd manages on a host: the managed-agents list, and the agents it finds
but leaves alone until adopted."""

from __future__ import annotations

import json
from collections.abc import Collection

from engine.errors import StateError
from engine.fsutil import atomic_write
from engine.names import DEFAULT_NAMESPACE
from engine.service.foreign import ForeignUpdaters
from engine.store.layout import list_namespaces, validate_namespace
from engine.update.host import HostConfig
from engine.update.package_agent import PACKAGE_AGENT, find_package_agent

__all__ = ["V1_TIMER", "ManagedAgents"]

V1_TIMER = "teleport-upgrade.timer"  # the v1 updater's, for the host's one agent


class ManagedAgents:
    """Which namespaces Shepherd manages: ``<root>/var/lib/shepherd/agents.json``.

    Without the file, every namespace with an ``update.yaml`` is managed (a host set up by
    ``teleport-update`` works out of the box) except one whose own updater's timer is on:
    that one is *found*, not managed, until adopted (never taken over silently). So is a
    package-installed agent (``package``, see ``engine.update.package_agent``): managed
    unless ``teleport-upgrade.timer`` is on. Adding or removing writes the file; removing
    never touches the agent's files.
    """

    def __init__(self, host: HostConfig) -> None:
        self.host = host
        self.path = host.state_dir / "agents.json"

    def names(self) -> list[str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            foreign = self.host.foreign_updaters()
            names = [n for n in list_namespaces(self.host.root) if not foreign.active(n)]
            if self._package_agent_found() and not self._v1_timer_on(foreign):
                names.append(PACKAGE_AGENT)  # a v1 host's package-installed agent
            return names
        except (OSError, ValueError) as e:
            raise StateError(f"cannot read the managed agents list {self.path}: {e}") from e
        if not isinstance(data, dict) or not isinstance(data.get("agents"), list):
            raise StateError(f"invalid managed agents list {self.path}: expected {{'agents': []}}")
        return [str(name) for name in data["agents"]]

    def found(self, managed_now: Collection[str] | None = None) -> dict[str, list[str]]:
        """The namespaces with an ``update.yaml`` that are not managed, each with the
        foreign updater timers that are on for it. ``managed_now``: the agents the caller
        runs (the daemon's poll loops); default: the managed-agents list."""
        managed = set(self.names() if managed_now is None else managed_now)
        foreign = self.host.foreign_updaters()
        found = {
            name: foreign.active(name)
            for name in list_namespaces(self.host.root)
            if name not in managed
        }
        if PACKAGE_AGENT not in managed and self._package_agent_found():
            found[PACKAGE_AGENT] = [V1_TIMER] if self._v1_timer_on(foreign) else []
        return found

    def _package_agent_found(self) -> bool:
        names = list_namespaces(self.host.root)
        return PACKAGE_AGENT not in names and find_package_agent(self.host) is not None

    @staticmethod
    def _v1_timer_on(foreign: ForeignUpdaters) -> bool:
        return V1_TIMER in foreign.active(DEFAULT_NAMESPACE)

    def add(self, namespace: str) -> list[str]:
        name = validate_namespace(namespace)
        names = self.names()
        if name not in names:
            names.append(name)
        self._save(names)
        return names

    def remove(self, namespace: str) -> list[str]:
        name = validate_namespace(namespace)
        names = [n for n in self.names() if n != name]
        self._save(names)
        return names

    def _save(self, names: list[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps({"agents": names}, indent=2).encode(), mode=0o644)
