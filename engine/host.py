"""The host as Shepherd sees it: where things are, which service manager runs the agents,
how to reach the network, and which agents are managed.

Both the daemon and ``shepherd update --local`` build their per-agent ``UpdateContext``
and ``UpdatePass`` from one ``HostConfig``, so a timer job and the daemon behave alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Literal

import httpx

from engine.artifacts import Progress
from engine.canary import CanaryGate, canary_status
from engine.errors import InvalidInput, StateError
from engine.fsutil import atomic_write
from engine.health import HealthCheck, HealthConfig
from engine.layout import Layout, list_namespaces, validate_namespace
from engine.policy import LocalSettings
from engine.runner import Sleeper, UpdatePass
from engine.service.base import ServiceManager
from engine.service.supervisor import Supervisord
from engine.service.systemd import Systemd
from engine.sources.channel import DEFAULT_CHANNEL
from engine.sources.transport import TransportConfig, make_client
from engine.state import load_config
from engine.transaction import UpdateContext

__all__ = ["HostConfig", "ManagedAgents"]

ServiceKind = Literal["systemd", "supervisord"]


@dataclass(frozen=True)
class HostConfig:
    """Everything host-wide. ``root`` is ``/`` in production, a temp dir in tests/demo."""

    root: Path = Path("/")
    service: ServiceKind = "systemd"
    supervisor_config: Path | None = None
    health: HealthConfig = field(default_factory=HealthConfig)
    transport: TransportConfig = field(default_factory=TransportConfig)
    download_headers: dict[str, str] = field(default_factory=dict)
    base_url: str | None = None  # custom CDN (local setting only); update.yaml may set one too
    arch: str | None = None
    channel: str = DEFAULT_CHANNEL
    canary_order: tuple[str, ...] = ()
    canary_soak: timedelta = timedelta(hours=1)
    policy: LocalSettings = field(default_factory=LocalSettings)
    per_agent_policy: dict[str, LocalSettings] = field(default_factory=dict)
    lock_timeout: float = 30.0

    @property
    def state_dir(self) -> Path:
        """Shepherd's host-wide state (the managed-agents list)."""
        return self.root / "var/lib/shepherd"

    def service_manager(self) -> ServiceManager:
        if self.service == "supervisord":
            if self.supervisor_config is None:
                raise InvalidInput("the supervisord service manager needs --supervisor-config")
            return Supervisord(self.supervisor_config)
        return Systemd()

    def layout(self, namespace: str) -> Layout:
        return Layout.resolve(self.root, namespace)

    def client(self) -> httpx.Client:
        return make_client(self.transport)

    def context(
        self,
        namespace: str,
        client: httpx.Client,
        *,
        progress: Callable[[Progress], None] | None = None,
        who: str = "shepherd",
    ) -> UpdateContext:
        layout = self.layout(namespace)
        return UpdateContext(
            layout=layout,
            service=self.service_manager(),
            health=HealthCheck(self.health),
            client=client,
            base_url=self._base_url(layout),
            arch=self.arch,
            download_headers=dict(self.download_headers),
            progress=progress,
            lock_timeout=self.lock_timeout,
            who=who,
        )

    def _base_url(self, layout: Layout) -> str | None:
        config = load_config(layout.update_yaml)
        if config is not None and config.spec.base_url:
            return config.spec.base_url
        return self.base_url

    def update_pass(self, ctx: UpdateContext, *, sleep: Sleeper | None = None) -> UpdatePass:
        namespace = ctx.layout.namespace
        policy = self.per_agent_policy.get(namespace, self.policy)
        if self.base_url and not policy.base_url:
            policy = replace(policy, base_url=self.base_url)
        return UpdatePass(ctx, shepherd=policy, channel=self.channel, sleep=sleep)

    def canary_gate(self) -> CanaryGate | None:
        if not self.canary_order:
            return None
        return CanaryGate(
            self.canary_order,
            self.canary_soak,
            lambda namespace: canary_status(self.layout(namespace)),
        )


class ManagedAgents:
    """Which namespaces Shepherd manages: ``<root>/var/lib/shepherd/agents.json``.

    Without the file, every namespace with an ``update.yaml`` is managed (a host set up by
    ``teleport-update`` works out of the box). Adding or removing writes the file; removing
    never touches the agent's files.
    """

    def __init__(self, host: HostConfig) -> None:
        self.host = host
        self.path = host.state_dir / "agents.json"

    def names(self) -> list[str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return list_namespaces(self.host.root)
        except (OSError, ValueError) as e:
            raise StateError(f"cannot read the managed agents list {self.path}: {e}") from e
        if not isinstance(data, dict) or not isinstance(data.get("agents"), list):
            raise StateError(f"invalid managed agents list {self.path}: expected {{'agents': []}}")
        return [str(name) for name in data["agents"]]

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
