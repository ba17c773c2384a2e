"""``shepherd install`` and ``uninstall`` on a booted systemd host: the real daemon (from this
tree) writes ``/etc/systemd/system/teleport_<ns>.service``, enables and starts it through
systemctl; uninstall refuses the running agent, then (forced) stops, disables and removes
it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.agentbuild import write_agent_config
from sandbox.cdn import Cdn
from sandbox.certs import SandboxCA
from sandbox.emulator import ClusterEmulator
from sandbox.systemd_host import SystemdHost
from tests.systemd.guest import GuestAgents


@pytest.fixture
def guest(
    systemd_host: SystemdHost, cdn: Cdn, cluster: ClusterEmulator, sandbox_ca: SandboxCA
) -> Iterator[GuestAgents]:
    agents = GuestAgents(systemd_host, cdn, cluster, namespace="fresh")
    agents.copy_ca(sandbox_ca)
    yield agents


def test_install_then_uninstall_a_namespaced_agent_under_systemd(guest: GuestAgents) -> None:
    host = guest.host
    write_agent_config(
        host.path("/etc/teleport_fresh.yaml"),
        Path("/var/lib/teleport_fresh"),
        proxy=guest.cluster.proxy_addr,
    )
    guest.publish("17.2.1")
    guest.start_daemon()

    install = guest.cli("install", "fresh")

    assert install.returncode == 0, install.stdout + install.stderr + guest.daemon_log()
    unit = guest.agent()
    assert unit["ActiveState"] == "active"
    assert unit["FragmentPath"] == "/etc/systemd/system/teleport_fresh.service"
    assert (
        "/opt/teleport/fresh/bin/teleport start --config /etc/teleport_fresh.yaml"
        in (unit["ExecStart"])
    )
    assert host.run("systemctl", "is-enabled", "teleport_fresh.service").stdout.strip() == (
        "enabled"
    )
    guest.wait_ready()
    assert guest.running_version() == "17.2.1"
    assert "fresh" in str(guest.cli_json("agents", "list"))

    refused = guest.cli("uninstall", "fresh")
    assert refused.returncode == 1, refused.stdout
    assert "running and enabled" in refused.stderr
    assert guest.agent()["ActiveState"] == "active"

    removed = guest.cli("uninstall", "fresh", "--force")

    assert removed.returncode == 0, removed.stdout + removed.stderr + guest.daemon_log()
    assert not host.path("/etc/systemd/system/teleport_fresh.service").exists()
    assert not host.path("/opt/teleport/fresh/update.yaml").exists()
    assert not host.path("/opt/teleport/fresh/versions").exists()
    state = host.run("systemctl", "is-active", "teleport_fresh.service", check=False)
    assert state.stdout.strip() in ("inactive", "unknown"), state.stdout
    enabled = host.run("systemctl", "is-enabled", "teleport_fresh.service", check=False)
    assert enabled.returncode != 0, enabled.stdout
    assert "fresh" not in str(guest.cli_json("agents", "list"))
