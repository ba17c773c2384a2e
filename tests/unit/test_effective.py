"""Whose setting wins (engine.update.effective): the command line, then Shepherd's settings
(the agent's table, then the host-wide key), then update.yaml, then the defaults."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.settings.file import SettingsFile
from engine.store.update_yaml import UpdateConfig, parse_config
from engine.update.effective import Overrides, effective_settings
from tests.unit.test_settings import FULL

UPDATE_YAML = """\
version: v1
kind: update_config
spec:
  proxy: from-yaml.example:443
  group: from-yaml
  base_url: https://from-update-yaml.example
  path: /usr/local/bin
  enabled: true
  pinned: true
status: {}
"""


@pytest.fixture
def settings_file(tmp_path: Path) -> SettingsFile:
    return SettingsFile(tmp_path)


@pytest.fixture
def config() -> UpdateConfig:
    return parse_config(UPDATE_YAML)


def test_the_agents_settings_win_over_update_yaml(
    settings_file: SettingsFile, config: UpdateConfig
) -> None:
    settings = settings_file.update(FULL)
    staging = effective_settings(settings, config, "staging")
    assert len(staging.local_windows) == 2
    assert len(staging.blackouts) == 1
    assert staging.critical_bypasses_local_window is False
    assert staging.poll_interval == timedelta(minutes=10)
    policy = staging.policy()
    assert policy.group == "canary"
    assert policy.base_url == "https://mirror.example/teleport/"
    assert policy.local_windows == staging.local_windows
    assert policy.poll_interval == timedelta(minutes=10)
    assert policy.pinned is True  # only update.yaml decides pinned
    assert staging.proxy.value == "teleport.example.com:443"
    assert staging.sources()["group"] == {
        "value": "canary",
        "from": "settings (agents.staging.group)",
    }
    assert staging.base_url.source == "settings (download.base_url)"


def test_update_yaml_fills_what_the_settings_leave_open(
    settings_file: SettingsFile, config: UpdateConfig
) -> None:
    settings = settings_file.update(FULL)
    prod = effective_settings(settings, config, "prod")
    assert prod.policy().group == "from-yaml"
    assert prod.group.source == "update.yaml"
    assert prod.proxy.value == "from-yaml.example:443"
    assert prod.base_url.value == "https://prod-mirror.example"
    assert prod.base_url.source == "settings (agents.prod.base_url)"
    assert prod.channel.value == "stable/rolling"
    assert prod.local_windows == ()
    other = effective_settings(settings, config, "other")
    assert other.base_url.value == "https://mirror.example/teleport/"
    bare = effective_settings(settings_file.unset("download.base_url"), config, "other")
    assert bare.base_url.value == "https://from-update-yaml.example"
    assert bare.base_url.source == "update.yaml"
    assert bare.channel.source == "default"


def test_the_command_line_wins_over_everything(
    settings_file: SettingsFile, config: UpdateConfig, tmp_path: Path
) -> None:
    settings = settings_file.update(FULL)
    ca = tmp_path / "ca.pem"
    given = Overrides(base_url="https://cli.example", ca_bundle=ca)
    staging = effective_settings(settings, config, "staging", given)
    assert staging.base_url.value == "https://cli.example"
    assert staging.base_url.source == "command line"
    assert staging.ca_bundle.value == ca and staging.ca_bundle.source == "command line"


def test_without_update_yaml_or_settings_the_defaults_hold(settings_file: SettingsFile) -> None:
    bare = effective_settings(settings_file.load(), None, "default")
    assert bare.proxy.value is None and bare.proxy.source == "default"
    assert bare.sources()["group"] == {"value": "default", "from": "default"}
    assert bare.base_url.value is None  # Teleport's CDN
    assert bare.ca_bundle.value is None  # the system trust store
    assert bare.enabled.value is True and bare.pinned.value is False
