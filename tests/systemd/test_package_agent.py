"""A package agent (v1 host) on the booted systemd host: Teleport's .deb installed with apt
from a signed repository, teleport.service run by systemd, the real daemon from this tree
updating it with apt through the v1 policy.

One flow per boot (installing and health-checking dominates the time): an update inside the
exported window, a critical one outside it, the two-strike rule, a crashing version rolled
back, one-click rollback, the hold surviving the host's own `apt-get upgrade`, unsigned and
other-key repositories refused, kill -9 of Shepherd mid-install repaired by the next run,
needrestart's drop-in, the teleport-upgrade.timer takeover, and hand-back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.certs import SandboxCA
from sandbox.emulator import ClusterEmulator
from sandbox.systemd_host import SystemdHost
from tests.fixtures.packages import PackageRepos
from tests.systemd.guest import DAEMON_UNIT, GUEST_CA, GuestAgents

TRUSTED_KEY = "/etc/shepherd-test/trusted.gpg"
CHANNEL = "stable/cloud"
TIMER = "teleport-upgrade.timer"
HOOK = "/etc/teleport-sandbox/postinst"
NEEDRESTART = "/etc/needrestart/conf.d/50-shepherd-teleport.conf"
APT_CA = "-o=Acquire::https::CaInfo=/etc/shepherd/keys/shepherd-teleport-ca.pem"


class PackageGuest(GuestAgents):
    repos: PackageRepos

    def settings(self, flavour: str = "trusted") -> None:
        path = self.host.path("/etc/shepherd/settings.toml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f'[network]\nca_bundle = "{GUEST_CA}"\n\n'
            f'[package]\nrepository_url = "{self.repos.apt_url(flavour)}"\n'
            f'signing_key = "{TRUSTED_KEY}"\n'
        )

    def install_first(self, version: str) -> None:
        """What Teleport's install script leaves: the package, its unit enabled, a config."""
        self.host.python(
            "from pathlib import Path\n"
            "from engine.packages import AptBackend, PackageRepo, Runner\n"
            f"repo = PackageRepo('teleport', {self.repos.apt_url()!r}, Path({TRUSTED_KEY!r}),"
            f" ca_bundle=Path({GUEST_CA!r}))\n"
            "apt = AptBackend(repo, Runner(timeout=300))\n"
            f"apt.configure(); apt.install_exact('teleport', {version!r})\n"
            "apt.release('teleport')\n",
            timeout=300,
        )
        config = self.host.path("/etc/teleport.yaml")
        config.write_text(
            "version: v3\nteleport:\n  data_dir: /var/lib/teleport\n"
            f"  proxy_server: {self.cluster.proxy_addr}\nssh_service:\n  enabled: true\n"
        )
        upgrade = self.host.path("/etc/teleport-upgrade.d")
        upgrade.mkdir(parents=True, exist_ok=True)
        (upgrade / "endpoint").write_text(
            f"{self.cluster.proxy_addr}/v1/webapi/automaticupgrades/channel/{CHANNEL}\n"
        )
        self.host.systemctl("enable", "--now", "teleport.service")
        self.wait_ready()

    def v1_timer(self) -> None:
        """A stand-in for teleport-ent-updater's timer, enabled as its package leaves it."""
        units = self.host.path("/etc/systemd/system")
        (units / "teleport-upgrade.service").write_text(
            "[Service]\nType=oneshot\nExecStart=/bin/true\n"
        )
        (units / TIMER).write_text(
            "[Timer]\nOnCalendar=hourly\n\n[Install]\nWantedBy=timers.target\n"
        )
        self.host.systemctl("daemon-reload")
        self.host.systemctl("enable", "--now", TIMER)

    def schedule(self, start: float | None, stop: float | None = None) -> None:
        path = self.host.path("/etc/teleport-upgrade.d/schedule")
        if start is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(f"{int(start)} {int(stop or start + 3600)}\n")

    def version(self) -> str:
        return self.host.run("dpkg-query", "-W", "-f=${Version}", "teleport").stdout

    def held(self) -> bool:
        return "teleport" in self.host.run("apt-mark", "showhold").stdout.split()

    def timer_state(self) -> str:
        return self.host.systemctl("is-enabled", TIMER, check=False).stdout.strip()

    def status(self) -> dict[str, Any]:
        answer = self.cli_json("status")
        [agent] = answer["agents"] if isinstance(answer, dict) else answer  # type: ignore[index]
        return agent  # type: ignore[no-any-return]

    def check(self) -> dict[str, Any]:
        result = self.cli("check", "package", "--json", timeout=300)
        try:
            return json.loads(result.stdout)  # type: ignore[no-any-return]
        except ValueError as e:
            raise AssertionError(
                f"exit {result.returncode}:\n{result.stdout}\n{result.stderr}\n{self.daemon_log()}"
            ) from e

    def restart_daemon(self) -> None:
        self.host.systemctl("reset-failed", DAEMON_UNIT, check=False)
        self.start_daemon(health_timeout=30)


def _package_units(host: SystemdHost) -> list[str]:
    listed = host.systemctl("list-units", "--plain", "--no-legend", "shepherd-pkg-*", check=False)
    return listed.stdout.split()


@pytest.fixture
def guest(
    systemd_host: SystemdHost,
    package_repos: PackageRepos,
    emulator: ClusterEmulator,
    sandbox_ca: SandboxCA,
) -> Iterator[PackageGuest]:
    guest = PackageGuest(systemd_host, package_repos.cdn, emulator)
    guest.repos = package_repos
    guest.copy_ca(sandbox_ca)
    key = systemd_host.path(TRUSTED_KEY)
    key.write_bytes(package_repos.trusted_key.public_gpg.read_bytes())
    yield guest


def test_a_package_agent_under_systemd_updated_held_rolled_back_and_handed_back(
    guest: PackageGuest, emulator: ClusterEmulator
) -> None:
    host = guest.host
    guest.install_first("17.2.1")
    guest.v1_timer()
    guest.settings()
    assert guest.timer_state() == "enabled"
    now = time.time()

    guest.start_daemon(health_timeout=30)
    # teleport-upgrade.timer is on: the agent is found, not managed, until adopted
    found = guest.cli("agents", "list")
    assert "package: found, not managed" in found.stdout, found.stdout + found.stderr
    assert guest.timer_state() == "enabled"
    adopted = guest.cli("agents", "add", "package")
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    host.wait_for(guest.held, 60, "the daemon to hold the package agent's version")
    assert guest.timer_state() == "disabled"  # taken over from teleport-upgrade
    assert "override_rc" in host.path(NEEDRESTART).read_text()  # needrestart leaves it alone
    agent = guest.status()
    assert (agent["kind"], agent["package"], agent["version"]) == ("package", "teleport", "17.2.1")

    # inside the window the agent exported
    guest.schedule(now - 60, now + 3600)
    emulator.set_channel(CHANNEL, version="17.3.0", critical=False)
    done = guest.check()
    assert done["decision"]["reason"] == "update-in-maintenance-window", done
    assert done["outcome"]["ok"], done
    assert guest.version() == "17.3.0" and guest.held()
    assert guest.running_version() == "17.3.0"
    pid = guest.wait_ready()

    # the host's own upgrade leaves the held agent alone although 17.4.1 is offered
    upgrade = host.run("apt-get", "-y", APT_CA, "upgrade", check=False, timeout=300)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert guest.version() == "17.3.0" and guest.wait_ready() == pid

    # one-click rollback, then 17.3.0 allowed again
    back = guest.cli("rollback", "package", "--reason", "plugin breaks", timeout=300)
    assert back.returncode == 0, back.stdout + back.stderr + guest.daemon_log()
    assert guest.version() == "17.2.1" and guest.held()
    guest.wait_ready()
    assert guest.cli("clear-bad", "package", "17.3.0").returncode == 0

    # critical, outside the window (the next one is tomorrow)
    guest.schedule(now + 86400)
    emulator.set_channel(CHANNEL, version="17.3.0", critical=True)
    done = guest.check()
    assert done["decision"]["reason"] == "update-critical", done
    assert done["outcome"]["ok"] and guest.version() == "17.3.0", done

    # a version that crashes at start under systemd: rolled back at once
    emulator.set_channel(CHANNEL, version="17.4.0", critical=True)
    done = guest.check()
    assert done["outcome"]["reason"] == "rolled-back", done
    assert guest.version() == "17.3.0" and guest.held()
    guest.wait_ready()
    assert guest.agent()["ActiveState"] == "active"

    # unsigned and other-key repositories: refused, nothing changes
    emulator.set_channel(CHANNEL, version="17.4.1", critical=True)
    for flavour in ("unsigned", "other-key"):
        guest.settings(flavour)
        done = guest.check()
        assert not done["outcome"]["ok"], done
        assert "refused" in done["outcome"]["message"] and flavour in done["outcome"]["message"]
        assert guest.version() == "17.3.0" and guest.held()
    guest.settings()

    # two strikes: no exported schedule (the agent is unhealthy), not critical
    back = guest.cli("rollback", "package", timeout=300)
    assert back.returncode == 0 and guest.version() == "17.2.1", back.stdout + back.stderr
    assert guest.cli("clear-bad", "package", "17.3.0").returncode == 0
    guest.schedule(None)
    emulator.set_channel(CHANNEL, version="17.3.0", critical=False)
    first = guest.check()
    assert first["decision"]["reason"] == "agent-unhealthy-first-strike", first
    assert guest.version() == "17.2.1"
    second = guest.check()
    assert second["decision"]["reason"] == "update-agent-unhealthy", second
    assert second["outcome"]["ok"] and guest.version() == "17.3.0", second
    guest.wait_ready()

    # kill -9 of Shepherd (and its apt) while the package's postinst runs
    hook = host.path(HOOK)
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\ntouch /run/postinst-started\nsleep 600\n")
    hook.chmod(0o755)
    host.run(
        "systemd-run", "--no-block", "--unit=shepherd-rollback-request",
        "--setenv=PYTHONPATH=/src", "/opt/shepherd-venv/bin/python", "-m", "engine.cli",
        "--socket", "/run/shepherd/api.sock", "rollback", "package",
    )  # fmt: skip
    host.wait_for(lambda: host.path("/run/postinst-started").exists(), 120, "the postinst")
    # the daemon, and the transient unit its apt runs in (its whole cgroup: apt, dpkg too)
    host.systemctl("kill", "--signal=KILL", DAEMON_UNIT, "shepherd-pkg-*.service")
    host.wait_for(
        lambda: host.show(DAEMON_UNIT, "ActiveState")["ActiveState"] != "active",
        30,
        "the daemon to be gone",
    )
    hook.unlink()
    state = host.run("dpkg-query", "-W", "-f=${db:Status-Abbrev}", "teleport").stdout
    assert state[1] != "i", state  # left half-configured
    host.wait_for(lambda: not _package_units(host), 30, "the package-manager unit to be gone")
    guest.restart_daemon()
    emulator.set_channel(CHANNEL, version="17.3.0", critical=True)
    done = guest.check()
    assert done["repaired"] is not None, done
    state = host.run("dpkg-query", "-W", "-f=${db:Status-Abbrev}", "teleport").stdout
    assert state[1] == "i", state  # installed and configured (state[0] "h": held again)
    assert guest.held()
    history = guest.cli_json("history", "package")
    assert any(r["event"] == "repair" for r in history), history  # type: ignore[union-attr]

    # hand-back: the hold is released and teleport-upgrade.timer is enabled again
    removed = guest.cli("agents", "remove", "package")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not guest.held()
    assert guest.timer_state() == "enabled"
