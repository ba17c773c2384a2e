"""Whose setting wins: the one rule, and where each value of an agent came from.

An agent's effective settings come from four places, in this order of precedence:

    1  the command line (``--base-url``, ``--ca-bundle``: a timer job or a test)
    2  Shepherd's settings file, the agent's table first (``agents.<ns>.base_url``), then
       the host-wide key (``download.base_url``)
    3  the agent's ``update.yaml`` spec, shared with teleport-update (proxy, group, base URL,
       enabled, pinned, link dir)
    4  the defaults (Teleport's CDN, group ``default``, the ``stable/cloud`` channel)

Local windows, blackouts, the critical bypass and the poll interval come from the settings
file only; enabled, pinned and the link dir from ``update.yaml`` only. Status, the update
pass, ``update --local`` and the API all ask :func:`effective_settings`, so every surface
shows the value the pass really uses, and says where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from engine.names import validate_namespace
from engine.policy.failures import RetryRule
from engine.policy.inputs import LocalSettings
from engine.policy.schedule import LocalWindow
from engine.settings.model import Settings
from engine.sources.channel import DEFAULT_CHANNEL
from engine.store.update_yaml import UpdateConfig

__all__ = ["EffectiveSettings", "Overrides", "Sourced", "effective_settings"]

T = TypeVar("T")

COMMAND_LINE = "command line"
UPDATE_YAML = "update.yaml"
DEFAULT = "default"


@dataclass(frozen=True)
class Sourced(Generic[T]):
    """A value and where it came from: ``command line``, ``settings (KEY)``,
    ``update.yaml`` or ``default``."""

    value: T
    source: str


@dataclass(frozen=True)
class Overrides:
    """What the command line decides for this run (it wins over everything)."""

    base_url: str | None = None
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class EffectiveSettings:
    namespace: str
    proxy: Sourced[str | None]  # the cluster's proxy address; None: not configured
    group: Sourced[str | None]  # None: the ``default`` group
    base_url: Sourced[str | None]  # None: Teleport's CDN
    channel: Sourced[str]
    ca_bundle: Sourced[Path | None]  # None: the system trust store
    enabled: Sourced[bool]
    pinned: Sourced[bool]
    link_dir: Sourced[str]
    local_windows: tuple[LocalWindow, ...]
    blackouts: tuple[LocalWindow, ...]
    critical_bypasses_local_window: bool
    poll_interval: timedelta
    retry: RetryRule = field(default_factory=RetryRule)

    def policy(self) -> LocalSettings:
        """The policy's view of what the host decides for this agent."""
        return LocalSettings(
            enabled=self.enabled.value,
            pinned=self.pinned.value,
            link_dir=self.link_dir.value,
            base_url=self.base_url.value,
            group=self.group.value,
            local_windows=self.local_windows,
            blackouts=self.blackouts,
            critical_bypasses_local_window=self.critical_bypasses_local_window,
            poll_interval=self.poll_interval,
            retry=self.retry,
        )

    def sources(self) -> dict[str, dict[str, Any]]:
        """``{name: {"value": ..., "from": ...}}`` for the values with more than one source."""
        shown: dict[str, Sourced[Any]] = {
            "proxy": self.proxy,
            "group": Sourced(self.group.value or "default", self.group.source),
            "base_url": self.base_url,
            "channel": self.channel,
            "ca_bundle": Sourced(
                str(self.ca_bundle.value) if self.ca_bundle.value else None, self.ca_bundle.source
            ),
            "enabled": self.enabled,
            "pinned": self.pinned,
            "link_dir": self.link_dir,
        }
        return {name: {"value": v.value, "from": v.source} for name, v in shown.items()}


def effective_settings(
    settings: Settings,
    config: UpdateConfig | None,
    namespace: str,
    overrides: Overrides | None = None,
) -> EffectiveSettings:
    """The settings a pass for ``namespace`` uses, each with its source (see the module doc).

    ``config`` is the agent's ``update.yaml`` (None when it has none: then the spec's values
    are the defaults).
    """
    name = validate_namespace(namespace)
    given = overrides or Overrides()
    spec = config.spec if config is not None else None
    agent = f"agents.{name}"

    def first(*candidates: tuple[T | None, str]) -> Sourced[T | None]:
        for value, source in candidates:
            if value:
                return Sourced(value, source)
        return Sourced(None, DEFAULT)

    def setting(key: str) -> tuple[Any, str]:
        return settings.get(key), f"settings ({key})"

    return EffectiveSettings(
        namespace=name,
        proxy=first(setting(f"{agent}.proxy"), (spec.proxy if spec else None, UPDATE_YAML)),
        group=first(setting(f"{agent}.group"), (spec.group if spec else None, UPDATE_YAML)),
        base_url=first(
            (given.base_url, COMMAND_LINE),
            setting(f"{agent}.base_url"),
            setting("download.base_url"),
            (spec.base_url if spec else None, UPDATE_YAML),
        ),
        channel=cast(
            Sourced[str],
            first(setting(f"{agent}.channel"), (DEFAULT_CHANNEL, DEFAULT)),
        ),
        ca_bundle=first((given.ca_bundle, COMMAND_LINE), setting("network.ca_bundle")),
        enabled=Sourced(spec.enabled, UPDATE_YAML) if spec else Sourced(True, DEFAULT),
        pinned=Sourced(spec.pinned, UPDATE_YAML) if spec else Sourced(False, DEFAULT),
        link_dir=Sourced(spec.path, UPDATE_YAML)
        if spec
        else Sourced(LocalSettings().link_dir, DEFAULT),
        local_windows=cast(tuple[LocalWindow, ...], settings.get(f"{agent}.windows")),
        blackouts=cast(tuple[LocalWindow, ...], settings.get(f"{agent}.blackouts")),
        critical_bypasses_local_window=cast(
            bool, settings.get("policy.critical_bypasses_local_window")
        ),
        poll_interval=cast(timedelta, settings.get("policy.poll_interval")),
        retry=RetryRule(
            settings.get_duration("policy.retry_failed_after"),
            settings.get_count("policy.retry_failed_max"),
        ),
    )
