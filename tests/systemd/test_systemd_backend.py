"""The systemd backend proven on a booted systemd host: the agent runs as teleport.service
from the unit copy Shepherd writes, the real daemon (from this tree) updates it through
systemctl, and bad builds are rolled back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from sandbox.agentbuild import Behaviour
from sandbox.cdn import Cdn
from sandbox.certs import SandboxCA
from sandbox.emulator import ClusterEmulator
from sandbox.systemd_host import SystemdHost
from tests.systemd.guest import GuestAgents


@pytest.fixture
def guest(
    systemd_host: SystemdHost, cdn: Cdn, cluster: ClusterEmulator, sandbox_ca: SandboxCA
) -> Iterator[GuestAgents]:
    agents = GuestAgents(systemd_host, cdn, cluster)
    agents.copy_ca(sandbox_ca)
    yield agents


def test_an_update_reloads_the_agent_unit_into_the_new_build(guest: GuestAgents) -> None:
    guest.lay_out()
    guest.publish("17.2.1")
    before = guest.agent()
    assert before["ActiveState"] == "active"
    assert before["FragmentPath"] == "/lib/systemd/system/teleport.service"
    assert "/usr/local/bin/teleport start --config /etc/teleport.yaml" in before["ExecStart"]
    old_pid = guest.wait_ready()
    guest.start_daemon()

    update = guest.cli("update", "--now")

    assert update.returncode == 0, update.stdout + update.stderr + guest.daemon_log()
    assert "result:     ok" in update.stdout
    after = guest.agent()
    assert after["ActiveState"] == "active"
    assert after["NeedDaemonReload"] == "no"  # the unit copy was rewritten, then daemon-reload
    new_pid = guest.wait_ready()
    assert new_pid != old_pid
    assert after["MainPID"] != before["MainPID"]
    assert guest.running_version() == "17.2.1"
    # the unit's own ExecReload re-exec'd the agent: no fallback to a restart
    journal = guest.host.run(
        "journalctl", "--no-pager", "-u", guest.agent_unit, "-o", "cat", check=False
    ).stdout
    assert "Reloaded teleport.service" in journal, journal
    assert "Reload failed" not in journal, journal
    assert "restarting it instead" not in guest.daemon_log()


def test_a_fips_build_is_started_with_fips(guest: GuestAgents) -> None:
    guest.cluster.set_cluster(edition="ent", fips=True, server_version="17.2.1")
    guest.lay_out(edition="ent")
    guest.publish("17.2.1", edition="ent", fips=True)
    guest.start_daemon()

    update = guest.cli("update", "--now")

    assert update.returncode == 0, update.stdout + update.stderr + guest.daemon_log()
    unit = guest.host.path("/lib/systemd/system/teleport.service").read_text()
    assert "ExecStart=/usr/local/bin/teleport start --fips --config" in unit, unit
    assert "--fips" in guest.agent()["ExecStart"]  # systemd runs what the copy says
    guest.wait_ready()
    assert guest.host.path("/opt/teleport/default/versions/17.2.1_ent_fips/sha256").is_file()


def test_a_build_that_crashes_at_start_is_rolled_back_in_seconds(guest: GuestAgents) -> None:
    guest.lay_out()
    guest.publish("17.2.1", behaviour=Behaviour.named("crash-at-start"))
    guest.start_daemon(health_timeout=60)

    started = time.monotonic()
    update = guest.cli("update", "--now")
    took = time.monotonic() - started

    assert update.returncode == 1, update.stdout + update.stderr
    assert "rolled back to 17.1.0" in update.stdout
    assert took < 30, f"took {took:.0f} s: the crash was not noticed before the deadline"
    guest.wait_ready()
    assert guest.running_version() == "17.1.0"
    assert guest.agent()["ActiveState"] == "active"
    status = guest.cli_json("status", "default")
    assert isinstance(status, dict)
    assert "17.2.1" in str(status.get("skip") or status)


def test_a_build_that_never_becomes_ready_is_rolled_back_at_the_deadline(
    guest: GuestAgents,
) -> None:
    guest.lay_out()
    guest.publish("17.2.1", behaviour=Behaviour.named("never-ready"))
    guest.start_daemon(health_timeout=8)

    started = time.monotonic()
    update = guest.cli("update", "--now")
    took = time.monotonic() - started

    assert update.returncode == 1, update.stdout + update.stderr
    assert "rolled back to 17.1.0" in update.stdout
    assert took >= 8
    guest.wait_ready()
    assert guest.running_version() == "17.1.0"


def test_one_click_rollback_restores_the_backup_under_systemd(guest: GuestAgents) -> None:
    guest.lay_out()
    guest.publish("17.2.1")
    guest.start_daemon()
    assert guest.cli("update", "--now").returncode == 0
    updated_pid = guest.wait_ready()

    rollback = guest.cli("rollback", "--reason", "TLS errors after 17.2.1")

    assert rollback.returncode == 0, rollback.stdout + rollback.stderr + guest.daemon_log()
    assert guest.wait_ready() != updated_pid
    assert guest.running_version() == "17.1.0"
    assert guest.agent()["ActiveState"] == "active"


def test_the_backend_reads_systemds_own_view_and_counts_restarts(
    systemd_host: SystemdHost,
) -> None:
    """engine.service.systemd.Systemd against the real systemctl: NRestarts is the restart
    count, and the health check fails a restart loop from it at once."""
    systemd_host.run(
        "systemd-run", "--unit=crashy", "-p", "Restart=always", "-p", "RestartSec=300ms",
        "/bin/sh", "-c", "sleep 0.5; exit 3",
    )  # fmt: skip
    code = """
import json
from pathlib import Path
from engine.service.health import HealthCheck, HealthConfig
from engine.service.systemd import Systemd
systemd = Systemd()
check = HealthCheck(HealthConfig(poll_seconds=0.2, stable_polls=50, timeout_seconds=60))
result = check.wait_for_new_pid(Path("/run/nothing.pid"), None, service=systemd, unit="crashy")
print(json.dumps({"restarts": systemd.restarts("crashy"), "reason": result.reason,
                  "elapsed": result.elapsed, "enabled": systemd.is_enabled("crashy")}))
"""
    seen = json.loads(systemd_host.python(code).stdout)
    assert seen["reason"] == "agent-crashing"
    assert seen["elapsed"] < 15
    assert seen["restarts"] >= 2
    assert int(systemd_host.show("crashy.service", "NRestarts")["NRestarts"]) >= seen["restarts"]
    assert seen["enabled"] is False  # a transient unit is not enabled
