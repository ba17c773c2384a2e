"""A package agent installed with dnf or zypper, through the real daemon, on the booted
systemd host: Debian's own rpm, dnf and zypper are installed there (from the Debian mirror)
with rpm's database where rpm distributions keep it (``/var/lib/rpm``) and zypp's system
check (glibc from rpm) emptied, the agent's .rpm from
the signed repository, its ``teleport.service`` run by systemd. For each manager: an update,
a repository signed by another key refused, and a crashing version rolled back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.certs import SandboxCA
from sandbox.emulator import ClusterEmulator
from sandbox.systemd_host import SystemdHost
from tests.fixtures.packages import PackageRepos
from tests.systemd.guest import GUEST_CA, GuestAgents

KEY = "/etc/shepherd-test/trusted.asc"
CHANNEL = "stable/cloud"
PACKAGE = "teleport"
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


class RpmGuest(GuestAgents):
    repos: PackageRepos
    manager: str

    def install_tools(self) -> None:
        """rpm, dnf and zypper from the Debian mirror; rpm's database in /var/lib/rpm."""
        update = self.host.run("apt-get", "update", env=APT_ENV, check=False, timeout=300)
        assert update.returncode == 0, update.stdout + update.stderr
        done = self.host.run(
            "apt-get", "install", "-y", "rpm", "dnf", "zypper",
            env=APT_ENV, check=False, timeout=900,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr
        macros = self.host.path("/etc/rpm/macros")
        macros.parent.mkdir(parents=True, exist_ok=True)
        macros.write_text("%_dbpath /var/lib/rpm\n")
        self.host.run("rpm", "--initdb")
        # zypp's system check wants glibc in the rpm database, as on any SUSE host; here the
        # system's glibc is Debian's (dpkg), so the check is emptied
        self.host.path("/etc/zypp/systemCheck").write_text("")

    def settings(self, flavour: str = "trusted") -> None:
        path = self.host.path("/etc/shepherd/settings.toml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f'[network]\nca_bundle = "{GUEST_CA}"\n\n'
            f'[package]\nrepository_url = "{self.repos.rpm_url(flavour)}"\n'
            f'signing_key = "{KEY}"\n'
        )

    def install_first(self, version: str) -> None:
        """What Teleport's install script leaves: the package, its unit enabled, a config."""
        backend = "DnfBackend" if self.manager == "dnf" else "ZypperBackend"
        installed = self.host.python(
            "from pathlib import Path\n"
            f"from engine.packages import {backend}, PackageRepo, Runner\n"
            f"repo = PackageRepo('teleport', {self.repos.rpm_url()!r}, Path({KEY!r}),"
            f" ca_bundle=Path({GUEST_CA!r}))\n"
            f"backend = {backend}(repo, Runner(timeout=300))\n"
            f"backend.configure(); backend.install_exact({PACKAGE!r}, {version!r})\n"
            f"backend.release({PACKAGE!r})\n",
            timeout=300,
            check=False,
        )
        assert installed.returncode == 0, installed.stdout + installed.stderr
        self.host.path("/etc/teleport.yaml").write_text(
            "version: v3\nteleport:\n  data_dir: /var/lib/teleport\n"
            f"  proxy_server: {self.cluster.proxy_addr}\nssh_service:\n  enabled: true\n"
        )
        upgrade = self.host.path("/etc/teleport-upgrade.d")
        upgrade.mkdir(parents=True, exist_ok=True)
        (upgrade / "endpoint").write_text(
            f"{self.cluster.proxy_addr}/v1/webapi/automaticupgrades/channel/{CHANNEL}\n"
        )
        if self.manager == "zypper":  # dnf is installed too: say which one this host uses
            (upgrade / "installer").write_text("zypper\n")
        self.host.systemctl("daemon-reload")
        self.host.systemctl("enable", "--now", "teleport.service")
        self.wait_ready()

    def version(self) -> str:
        return self.host.run("rpm", "-q", "--qf", "%{VERSION}", PACKAGE).stdout.strip()

    def locked(self) -> bool:
        if self.manager == "dnf":
            conf = self.host.path("/etc/dnf/dnf.conf")
            return conf.exists() and any(
                line.startswith("excludepkgs=") and PACKAGE in line.split("=", 1)[1].split()
                for line in conf.read_text().splitlines()
            )
        locks = self.host.run("zypper", "--non-interactive", "locks", check=False).stdout
        return f"| {PACKAGE} " in locks

    def check(self) -> dict[str, Any]:
        result = self.cli("check", "package", "--json", timeout=300)
        try:
            return json.loads(result.stdout)  # type: ignore[no-any-return]
        except ValueError as e:
            raise AssertionError(
                f"exit {result.returncode}:\n{result.stdout}\n{result.stderr}\n{self.daemon_log()}"
            ) from e


@pytest.fixture(params=["dnf", "zypper"])
def guest(
    request: pytest.FixtureRequest,
    systemd_host: SystemdHost,
    package_repos: PackageRepos,
    emulator: ClusterEmulator,
    sandbox_ca: SandboxCA,
) -> Iterator[RpmGuest]:
    guest = RpmGuest(systemd_host, package_repos.cdn, emulator)
    guest.repos = package_repos
    guest.manager = request.param
    guest.copy_ca(sandbox_ca)
    systemd_host.path(KEY).write_bytes(package_repos.trusted_key.public_asc.read_bytes())
    guest.install_tools()
    yield guest


def test_a_package_agent_updated_refused_and_rolled_back_with_an_rpm_manager(
    guest: RpmGuest, emulator: ClusterEmulator
) -> None:
    guest.install_first("17.2.1")
    guest.settings()
    guest.start_daemon(health_timeout=30)
    added = guest.cli("agents", "add", "package")
    assert added.returncode == 0, added.stdout + added.stderr + guest.daemon_log()
    guest.host.wait_for(guest.locked, 120, f"the daemon to lock the version with {guest.manager}")
    answer = guest.cli_json("status")
    [agent] = answer["agents"] if isinstance(answer, dict) else answer  # type: ignore[index]
    assert (agent["kind"], agent["manager"], agent["version"]) == ("package", "rpm", "17.2.1")

    emulator.set_channel(CHANNEL, version="17.3.0", critical=True)
    done = guest.check()
    assert done["outcome"]["ok"], done
    assert guest.version() == "17.3.0" and guest.locked()
    guest.wait_ready()
    assert guest.running_version() == "17.3.0"

    guest.settings("other-key")
    emulator.set_channel(CHANNEL, version="17.4.1", critical=True)
    refused = guest.check()
    assert not refused["outcome"]["ok"], refused
    assert "refused" in refused["outcome"]["message"], refused
    assert "other-key" in refused["outcome"]["message"], refused
    assert guest.version() == "17.3.0" and guest.locked()

    guest.settings()
    emulator.set_channel(CHANNEL, version="17.4.0", critical=True)  # crashes at start
    crashed = guest.check()
    assert crashed["outcome"]["reason"] == "rolled-back", crashed
    assert guest.version() == "17.3.0" and guest.locked()
    guest.wait_ready()
    assert guest.agent()["ActiveState"] == "active"
