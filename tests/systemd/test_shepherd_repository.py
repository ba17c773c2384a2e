"""Shepherd's own packages on a booted systemd host, as an admin gets them: from a signed apt
repository made by ``python -m installer.build repo`` (a gpg key made here, nginx serving it
over TLS), enrolled with its ``agent-shepherd.sources``. The server package alone pulls no Qt
or graphics library; the tray package brings them; ``apt-get update && apt-get upgrade``
moves to a newer build and the daemon restarts into it, agents untouched; an upgrade cut off
after the unpack leaves a working daemon; the daemon says when a newer Shepherd is offered;
and Debian 13's GNU Shepherd (``/usr/bin/shepherd``) installs beside it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.cdn import Cdn
from sandbox.certs import CertPair, SandboxCA
from sandbox.emulator import ClusterEmulator
from sandbox.pkgrepos import SigningKey
from sandbox.systemd_host import SystemdHost
from tests.systemd.conftest import ROOT, Debs
from tests.systemd.guest import GUEST_CA, GuestAgents
from tests.systemd.installed import Installed, left_behind_and_changed

GRAPHICS = re.compile(r"^lib(qt|xcb|x11|xkbcommon|wayland|gl|egl|gbm|drm|fontconfig|freetype|gtk)")
ENV = {"DEBIAN_FRONTEND": "noninteractive"}


@dataclass
class Repository:
    """The signed repository directory, served by nginx at ``url``."""

    directory: Path
    url: str
    key: SigningKey

    def publish(self, *debs: Path) -> None:
        """``python -m installer.build repo``, as the admin runs it."""
        result = subprocess.run(
            [sys.executable, "-m", "installer.build", "repo", "--key", self.key.fingerprint,
             "--gnupghome", str(self.key.home), "--url", self.url,
             "--repo", str(self.directory), *map(str, debs)],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def repository(tmp_path: Path, server_cert: CertPair) -> Iterator[Repository]:
    directory = tmp_path / "repo"
    directory.mkdir()
    key = SigningKey.create(tmp_path / "gnupg", name="Shepherd Archive")
    with Cdn(directory, server_cert, workdir=tmp_path / "nginx") as server:
        yield Repository(directory, f"{server.base_url}/", key)


@pytest.fixture
def installed(systemd_host: SystemdHost) -> Installed:
    return Installed(systemd_host)


def _enrol(installed: Installed, repository: Repository, sandbox_ca: SandboxCA) -> None:
    """What the README says: the repository's agent-shepherd.sources into sources.list.d
    (plus, for this test's private CA, apt's CaInfo for the repository's host)."""
    host = installed.host
    ca = host.path(GUEST_CA)
    ca.parent.mkdir(parents=True, exist_ok=True)
    ca.write_bytes(Path(sandbox_ca.ca_path).read_bytes())
    host.path("/etc/apt/apt.conf.d/60shepherd-test-ca").write_text(
        f'Acquire::https::127.0.0.1::CaInfo "{GUEST_CA}";\n'
    )
    sources = host.path("/etc/apt/sources.list.d/agent-shepherd.sources")
    sources.write_bytes((repository.directory / "agent-shepherd.sources").read_bytes())


def _apt(installed: Installed, *args: str) -> str:
    result = installed.host.run("apt-get", *args, env=ENV, check=False, timeout=600)
    assert result.returncode == 0, f"apt-get {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def _update_only_ours(installed: Installed) -> None:
    """``apt-get update`` of the Shepherd repository alone (the Debian mirror stays out of
    tests that need nothing from it); a bad signature fails (--error-on=any)."""
    _apt(installed, "update", "--error-on=any", "-o", "Dir::Etc::sourcelist=/dev/null")


def _installed_packages(installed: Installed) -> set[str]:
    out = installed.host.run("dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\\n").stdout
    return {line.split()[0] for line in out.splitlines() if line.endswith(" installed")}


def _daemon_version(installed: Installed) -> dict[str, object]:
    shown = installed.shepherd_json("version")
    assert isinstance(shown, dict), shown
    return shown


def test_the_server_package_alone_from_the_repository_pulls_no_graphics_library(
    installed: Installed, repository: Repository, sandbox_ca: SandboxCA, shepherd_debs: Debs
) -> None:
    repository.publish(shepherd_debs.current, shepherd_debs.tray)
    _enrol(installed, repository, sandbox_ca)
    before = _installed_packages(installed)
    _update_only_ours(installed)

    _apt(installed, "install", "-y", "agent-shepherd")

    pulled = _installed_packages(installed) - before
    assert pulled == {"agent-shepherd"}
    assert [name for name in _installed_packages(installed) if GRAPHICS.match(name)] == []
    installed.wait_serving()
    shown = _daemon_version(installed)
    assert shown["version"] == shepherd_debs.version
    assert shown["shepherd"] == {
        "version": shepherd_debs.version,
        "package": shepherd_debs.version,
        "available": None,
    }


def test_upgrade_from_the_repository_restarts_into_the_new_build_agents_untouched(
    installed: Installed,
    repository: Repository,
    sandbox_ca: SandboxCA,
    shepherd_debs: Debs,
    cdn: Cdn,
    cluster: ClusterEmulator,
) -> None:
    host = installed.host
    guest = GuestAgents(host, cdn, cluster)
    guest.lay_out()
    agent_before = guest.agent()
    repository.publish(shepherd_debs.current)
    _enrol(installed, repository, sandbox_ca)
    _update_only_ours(installed)
    _apt(installed, "install", "-y", "agent-shepherd")
    first = installed.wait_serving()

    repository.publish(shepherd_debs.newer)
    _update_only_ours(installed)
    # the daemon notices apt's candidate (no restart, no poll of its own needed)
    shown = _daemon_version(installed)
    assert shown["shepherd"] == {
        "version": shepherd_debs.version,
        "package": shepherd_debs.version,
        "available": shepherd_debs.newer_version,
    }
    status = installed.shepherd("status")
    assert f"Shepherd {shepherd_debs.newer_version} available" in status.stdout, status.stdout

    _apt(installed, "upgrade", "-y")

    second = installed.wait_serving(not_pid=first)
    exe = host.run("readlink", f"/proc/{second}/exe").stdout.strip()
    assert exe.endswith("/opt/agent-shepherd/shepherd") and "(deleted)" not in exe, exe
    shown = _daemon_version(installed)
    assert shown["daemon"]["version"] == shepherd_debs.newer_version  # type: ignore[index]
    assert shown["shepherd"]["available"] is None  # type: ignore[index]
    agent_after = guest.agent()
    assert (agent_after["MainPID"], agent_after["NRestarts"]) == (
        agent_before["MainPID"],
        agent_before["NRestarts"],
    )
    assert guest.running_version() == "17.1.0"


def test_an_upgrade_cut_off_after_the_unpack_leaves_a_working_daemon(
    installed: Installed, repository: Repository, sandbox_ca: SandboxCA, shepherd_debs: Debs
) -> None:
    """What a power cut or a killed apt between dpkg's unpack and configure leaves: the new
    files in place, the package half-installed, the old daemon still serving; systemd can
    restart it into the new build, and ``dpkg --configure -a`` (what apt then asks for)
    finishes the upgrade."""
    host = installed.host
    repository.publish(shepherd_debs.current, shepherd_debs.newer)
    _enrol(installed, repository, sandbox_ca)
    _update_only_ours(installed)
    _apt(installed, "install", "-y", f"agent-shepherd={shepherd_debs.version}")
    first = installed.wait_serving()
    target = host.path(f"/var/tmp/{shepherd_debs.newer.name}")
    shutil.copyfile(shepherd_debs.newer, target)

    unpacked = host.run("dpkg", "--unpack", f"/var/tmp/{target.name}", check=False)
    assert unpacked.returncode == 0, unpacked.stdout + unpacked.stderr
    state = host.run("dpkg-query", "-W", "-f=${db:Status-Status}", "agent-shepherd").stdout
    assert state == "unpacked"
    assert installed.service()["MainPID"] == first
    assert installed.shepherd("status").returncode == 0

    host.systemctl("restart", "shepherd.service")  # e.g. the watchdog, a crash, a reboot
    second = installed.wait_serving(not_pid=first)
    assert _daemon_version(installed)["daemon"]["version"] == shepherd_debs.newer_version  # type: ignore[index]

    configured = host.run("dpkg", "--configure", "-a", check=False)
    assert configured.returncode == 0, configured.stdout + configured.stderr
    installed.wait_serving(not_pid=second)
    state = host.run("dpkg-query", "-W", "-f=${db:Status-Status}", "agent-shepherd").stdout
    assert state == "installed"


def test_both_packages_from_the_repository_then_purged_leave_nothing_of_theirs(
    installed: Installed, repository: Repository, sandbox_ca: SandboxCA, shepherd_debs: Debs
) -> None:
    """The tray's libraries come from the Debian mirror (the host's own apt source)."""
    host = installed.host
    repository.publish(shepherd_debs.current, shepherd_debs.tray)
    _enrol(installed, repository, sandbox_ca)
    _apt(installed, "update", "--error-on=any")
    before = installed.snapshot()

    _apt(installed, "install", "-y", "agent-shepherd-tray")

    packages = _installed_packages(installed)
    assert {
        "agent-shepherd",
        "agent-shepherd-tray",
        "libxcb-icccm4",
        "libwayland-client0",
    } <= packages
    installed.wait_serving()
    tray = host.run(
        "/usr/bin/shepherd-tray", "--version", env={"QT_QPA_PLATFORM": "offscreen"}, check=False
    )
    assert tray.stdout == f"shepherd-tray {shepherd_debs.version}\n", tray.stdout + tray.stderr
    desktop = host.run("ls", "/usr/share/applications", "/usr/share/metainfo").stdout
    assert "org.agentshepherd.tray.desktop" in desktop
    assert "org.agentshepherd.tray.metainfo.xml" in desktop
    assert not host.path("/etc/xdg/autostart/agent-shepherd-tray.desktop").exists()

    _apt(installed, "purge", "-y", "--autoremove", "agent-shepherd-tray", "agent-shepherd")

    left, changed, gone = left_behind_and_changed(before, installed.snapshot())
    ours = [p for p in left + changed if "shepherd" in p]
    assert ours == [], ours
    assert gone == [], f"files removed that were not Shepherd's: {gone}"


def _fake_gnu_shepherd(out: Path) -> Path:
    """A package named like Debian 13's GNU Shepherd that ships /usr/bin/shepherd itself."""
    tree = out / "gnu-shepherd"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "usr/bin").mkdir(parents=True)
    (tree / "usr/bin/shepherd").write_text("#!/bin/sh\necho 'GNU Shepherd 1.0.2'\n")
    (tree / "usr/bin/shepherd").chmod(0o755)
    (tree / "DEBIAN/control").write_text(
        "Package: shepherd\nVersion: 1.0.2-1\nArchitecture: all\nMaintainer: Test <t@e.invalid>\n"
        "Description: service manager (stand-in for GNU Shepherd)\n"
    )
    deb = out / "shepherd_1.0.2-1_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(tree), str(deb)],
                   check=True, capture_output=True)  # fmt: skip
    return deb


@pytest.mark.parametrize("gnu_first", [True, False], ids=["GNU Shepherd first", "ours first"])
def test_installs_beside_gnu_shepherd_without_overwriting_its_file(
    installed: Installed, shepherd_debs: Debs, tmp_path: Path, gnu_first: bool
) -> None:
    host = installed.host
    gnu = _fake_gnu_shepherd(tmp_path)
    order = [gnu, shepherd_debs.current] if gnu_first else [shepherd_debs.current, gnu]
    for deb in order:
        result = installed.apt("install", deb=deb)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "trying to overwrite" not in result.stdout + result.stderr

    assert host.run("/usr/bin/shepherd", check=False).stdout == "GNU Shepherd 1.0.2\n"
    version = host.run("/usr/bin/agent-shepherd", "--version", check=False)
    assert version.stdout == f"shepherd {shepherd_debs.version}\n", version.stderr
    installed.wait_serving()  # the unit runs /usr/bin/agent-shepherd, never the name in doubt

    removed = installed.apt("purge", "agent-shepherd")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert host.run("/usr/bin/shepherd", check=False).stdout == "GNU Shepherd 1.0.2\n"
    assert (
        json.loads(host.run("dpkg-query", "-W", '-f="${db:Status-Status}"', "shepherd").stdout)
        == "installed"
    )
