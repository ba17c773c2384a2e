"""The host as Shepherd sees it: where things are, which service manager runs the agents,
how to reach the network, and which agents are managed.

Both the daemon and ``shepherd update --local`` build their per-agent ``UpdateContext``
and ``UpdatePass`` from one ``HostConfig``, so a timer job and the daemon behave alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Literal

import httpx

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import InvalidInput, SecretStoreError
from engine.install.download import DownloadLimits, Progress, parse_rate
from engine.service.base import ServiceManager
from engine.service.foreign import ForeignUpdaters
from engine.service.health import HealthCheck, HealthConfig
from engine.service.own_unit import OwnUnit
from engine.service.supervisor import Supervisord
from engine.service.systemd import Systemd
from engine.settings.model import Settings, transport_config
from engine.settings.secrets import SecretStore, mirror_headers, open_store
from engine.sources.transport import TransportConfig, make_client
from engine.store.layout import Layout
from engine.store.update_yaml import load_config
from engine.update.canary import CanaryGate, canary_status
from engine.update.effective import EffectiveSettings, Overrides, effective_settings
from engine.update.outcome import UpdateContext
from engine.update.update_pass import Sleeper, UpdatePass

__all__ = ["HostConfig", "with_settings"]

ServiceKind = Literal["systemd", "supervisord"]


@dataclass(frozen=True)
class HostConfig:
    """Everything host-wide. ``root`` is ``/`` in production, a temp dir in tests/demo.

    ``settings`` (``/etc/shepherd/settings.toml``) and ``secrets`` (the keyring) decide the
    network, the download source and the local policy; ``ca_bundle`` and ``base_url`` given
    on the command line win over them.
    """

    root: Path = Path("/")
    service: ServiceKind = "systemd"
    supervisor_config: Path | None = None
    health: HealthConfig = field(default_factory=HealthConfig)
    settings: Settings = field(default_factory=Settings)
    secrets: SecretStore | None = None
    ca_bundle: Path | None = None
    base_url: str | None = None
    arch: str | None = None
    lock_timeout: float = 30.0
    clock: Clock = SYSTEM_CLOCK

    @property
    def state_dir(self) -> Path:
        """Shepherd's host-wide state (the managed-agents list)."""
        return self.root / "var/lib/shepherd"

    @property
    def overrides(self) -> Overrides:
        return Overrides(base_url=self.base_url, ca_bundle=self.ca_bundle)

    @property
    def transport(self) -> TransportConfig:
        """CA bundle and HTTP proxy from settings, the proxy password from the keyring."""
        config = transport_config(self.settings, self.secrets)
        if self.ca_bundle is not None:
            config = replace(config, ca_bundle=self.ca_bundle)
        return config

    @property
    def download_limits(self) -> DownloadLimits:
        """The deadline and minimum rate of every download, from the settings."""
        rate = self.settings.get_text("download.min_rate") or "0"
        return DownloadLimits(
            total_seconds=self.settings.get_duration("download.deadline").total_seconds(),
            min_rate_bps=parse_rate(rate),
        )

    def effective(self, namespace: str) -> EffectiveSettings:
        """The agent's effective settings now (its update.yaml read afresh)."""
        layout = self.layout(namespace)
        return effective_settings(
            self.settings, load_config(layout.update_yaml), layout.namespace, self.overrides
        )

    @property
    def canary_order(self) -> tuple[str, ...]:
        return self.settings.get_names("canary.order")

    @property
    def canary_soak(self) -> timedelta:
        return self.settings.get_duration("canary.soak")

    @property
    def poll_interval(self) -> timedelta:
        return self.settings.get_duration("policy.poll_interval")

    def service_manager(self) -> ServiceManager:
        if self.service == "supervisord":
            if self.supervisor_config is None:
                raise InvalidInput("the supervisord service manager needs --supervisor-config")
            return Supervisord(self.supervisor_config)
        return Systemd()

    def foreign_updaters(self) -> ForeignUpdaters:
        """Teleport's own updater timers on this host (none without systemd)."""
        return ForeignUpdaters.for_host(
            service=self.service, run_dir=self.root / "run/systemd/system"
        )

    @property
    def adopt_found(self) -> bool:
        return self.settings.get_bool("discovery.adopt_found")

    def layout(self, namespace: str) -> Layout:
        return Layout.resolve(self.root, namespace)

    def open_sandbox(self, layout: Layout) -> list[str]:
        """Make the agent's own directories outside the default layout (a namespaced or
        custom data dir, a custom link dir) writable for the daemon's systemd sandbox; the
        directories opened (none outside a systemd service, or when all are writable).

        Raises:
            InvalidInput: update.yaml or the agent config names a system directory.
            ServiceError: systemd could not open one.
        """
        if self.root != Path("/") or self.service != "systemd":
            return []
        unit = OwnUnit.detect()
        if unit is None:
            return []
        return unit.grant([layout.link_dir, layout.data_dir, layout.namespace_dir])

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
        self.open_sandbox(layout)
        base_url = self.effective(namespace).base_url.value
        headers = (
            mirror_headers(self.secrets, namespace)
            if base_url is not None and self.secrets is not None
            else {}
        )  # a mirror token goes to the mirror only, never to Teleport's CDN
        return UpdateContext(
            layout=layout,
            service=self.service_manager(),
            health=HealthCheck(self.health, self.clock),
            client=client,
            base_url=base_url,
            arch=self.arch,
            download_headers=headers,
            download_limits=self.download_limits,
            progress=progress,
            lock_timeout=self.lock_timeout,
            who=who,
            foreign=self.foreign_updaters(),
            clock=self.clock,
        )

    def update_pass(self, ctx: UpdateContext, *, sleep: Sleeper | None = None) -> UpdatePass:
        return UpdatePass(ctx, settings=self.settings, overrides=self.overrides, sleep=sleep)

    def canary_gate(self) -> CanaryGate | None:
        if not self.canary_order:
            return None
        return CanaryGate(
            self.canary_order,
            self.canary_soak,
            lambda namespace: canary_status(self.layout(namespace)),
        )


def with_settings(host: HostConfig, settings: Settings) -> tuple[HostConfig, str | None]:
    """``host`` with new settings and the secret store they name (reused when the backend
    is unchanged). The second value says why the store could not be opened (then None):
    updates that need no secret go on; those that do fail naming the cause."""
    backend = settings.get_choice("secrets.backend")
    if host.secrets is not None and host.secrets.backend_name == backend:
        return replace(host, settings=settings), None
    try:
        store = open_store(backend, root=host.root)
    except SecretStoreError as e:
        return replace(host, settings=settings, secrets=None), str(e)
    return replace(host, settings=settings, secrets=store), None
