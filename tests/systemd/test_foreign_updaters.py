"""Living beside Teleport's own updaters on a booted systemd host: the timers
``teleport-update enable`` leaves (``teleport-update.timer`` for the default namespace,
``teleport-update_<ns>.timer`` for another) and the v1 ``teleport-upgrade.timer``, as real
units. Shepherd never takes an agent over silently, turns the foreign timer off when it
adopts and on again when it hands back, and does not update while one is on."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sandbox.cdn import Cdn
from sandbox.certs import SandboxCA
from sandbox.emulator import ClusterEmulator
from sandbox.systemd_host import SystemdHost
from tests.systemd.guest import GuestAgents

# What `teleport-update enable` writes (lib/autoupdate/agent/setup.go), with a harmless
# ExecStart: the real one would run teleport-update's own update.
_UPDATE_SERVICE = """[Unit]
Description=Teleport auto-update service

[Service]
Type=oneshot
ExecStart=/bin/true
"""
_UPDATE_TIMER = """[Unit]
Description=Teleport auto-update timer unit

[Timer]
OnActiveSec=1m
OnUnitActiveSec=5m
RandomizedDelaySec=1m

[Install]
WantedBy=teleport.service
"""
# The v1 updater's timer (teleport-ent-updater package).
_UPGRADE_TIMER = """[Unit]
Description=Periodic check for Teleport upgrades

[Timer]
OnBootSec=5m
OnUnitActiveSec=5m

[Install]
WantedBy=timers.target
"""


@pytest.fixture
def guest(
    systemd_host: SystemdHost, cdn: Cdn, cluster: ClusterEmulator, sandbox_ca: SandboxCA
) -> Iterator[GuestAgents]:
    agents = GuestAgents(systemd_host, cdn, cluster)
    agents.copy_ca(sandbox_ca)
    yield agents


def _install_timer(host: SystemdHost, name: str, timer: str) -> None:
    """Write ``name``.timer and its service into /etc/systemd/system and ``enable --now``
    the timer, as teleport-update enable (or the v1 package) leaves them."""
    units = host.path("/etc/systemd/system")
    (units / f"{name}.service").write_text(_UPDATE_SERVICE)
    (units / f"{name}.timer").write_text(timer)
    host.systemctl("daemon-reload")
    host.systemctl("enable", "--now", f"{name}.timer")


def _timer(host: SystemdHost, name: str) -> tuple[str, str]:
    """(is-enabled, ActiveState) of a timer, as systemd says."""
    enabled = host.run("systemctl", "is-enabled", f"{name}.timer", check=False).stdout.strip()
    return enabled, host.show(f"{name}.timer", "ActiveState")["ActiveState"]


def _found(guest: GuestAgents) -> list[object]:
    answer = guest.host.python(
        "import json; from pathlib import Path; from engine.api.client import ApiClient\n"
        "print(json.dumps(ApiClient(Path('/run/shepherd/api.sock')).get('/v1/agents')))"
    )
    found = json.loads(answer.stdout)["found"]
    assert isinstance(found, list)
    return found


def test_an_agent_with_teleport_update_on_is_found_adopted_and_handed_back(
    guest: GuestAgents,
) -> None:
    guest.lay_out()
    _install_timer(guest.host, "teleport-update", _UPDATE_TIMER)
    assert _timer(guest.host, "teleport-update") == ("enabled", "active")
    guest.start_daemon()

    listed = guest.cli("agents", "list")
    assert listed.stdout.splitlines() == [
        "No managed agents.",
        "default: found, not managed (teleport-update.timer is on); "
        "'shepherd agents add default' adopts it",
    ], listed.stdout + listed.stderr + guest.daemon_log()
    assert _found(guest) == [{"agent": "default", "foreign_updaters": ["teleport-update.timer"]}]
    assert _timer(guest.host, "teleport-update") == ("enabled", "active")  # nothing taken

    added = guest.cli("agents", "add", "default")

    assert added.returncode == 0, added.stdout + added.stderr + guest.daemon_log()
    assert "turned off Teleport's own updater: teleport-update.timer" in added.stdout
    assert _timer(guest.host, "teleport-update") == ("disabled", "inactive")
    record = json.loads(
        guest.host.path("/opt/teleport/default/shepherd/foreign-updaters.json").read_text()
    )
    assert record == {
        "disabled": [{"unit": "teleport-update.timer", "was_enabled": True, "was_active": True}]
    }
    assert guest.cli("agents", "list").stdout.splitlines() == ["default"]
    assert _found(guest) == []

    removed = guest.cli("agents", "remove", "default")

    assert removed.returncode == 0, removed.stdout + removed.stderr + guest.daemon_log()
    assert _timer(guest.host, "teleport-update") == ("enabled", "active")
    assert not guest.host.path("/opt/teleport/default/shepherd/foreign-updaters.json").exists()
    assert _found(guest) == [{"agent": "default", "foreign_updaters": ["teleport-update.timer"]}]


def test_hand_back_turns_on_only_what_adopting_turned_off(guest: GuestAgents) -> None:
    guest.lay_out()
    _install_timer(guest.host, "teleport-upgrade", _UPGRADE_TIMER)
    _install_timer(guest.host, "teleport-update", _UPDATE_TIMER)
    guest.host.systemctl("disable", "--now", "teleport-update.timer")  # the admin's choice
    guest.start_daemon()

    assert guest.cli("agents", "add", "default").returncode == 0
    assert _timer(guest.host, "teleport-upgrade") == ("disabled", "inactive")
    assert guest.cli("agents", "remove", "default").returncode == 0

    assert _timer(guest.host, "teleport-upgrade") == ("enabled", "active")
    assert _timer(guest.host, "teleport-update") == ("disabled", "inactive")


def test_no_update_while_teleport_upgrade_is_on_again(guest: GuestAgents) -> None:
    guest.lay_out()
    guest.publish("17.2.1")
    guest.start_daemon()  # no foreign timer yet: the agent is managed
    _install_timer(guest.host, "teleport-upgrade", _UPGRADE_TIMER)  # someone turned v1 on

    update = guest.cli("update", "--now")

    assert "teleport-upgrade.timer is active for agent 'default'" in update.stdout, (
        update.stdout + update.stderr + guest.daemon_log()
    )
    assert guest.running_version() == "17.1.0"
    assert not guest.host.path("/opt/teleport/default/versions/17.2.1").exists()


def test_adopt_found_takes_over_at_first_start(guest: GuestAgents) -> None:
    guest.lay_out()
    _install_timer(guest.host, "teleport-update", _UPDATE_TIMER)
    settings = guest.host.path("/etc/shepherd/settings.toml")
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("[discovery]\nadopt_found = true\n")

    guest.start_daemon()

    assert guest.cli("agents", "list").stdout.splitlines() == ["default"], guest.daemon_log()
    assert _timer(guest.host, "teleport-update") == ("disabled", "inactive")
