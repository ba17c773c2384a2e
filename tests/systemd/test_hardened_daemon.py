"""The installed, hardened shepherd.service (ProtectSystem=strict) doing what its sandbox
does not foresee: a namespaced agent whose link dir is its own (the daemon opens exactly
those directories for itself, without a restart, and keeps them in a drop-in), and a package
agent updated with apt (the package manager runs in a transient unit; the daemon stays
read-only)."""

from __future__ import annotations

import pytest

from sandbox.cdn import Cdn
from sandbox.certs import SandboxCA
from sandbox.emulator import ClusterEmulator
from sandbox.systemd_host import SystemdHost
from tests.fixtures.packages import PackageRepos
from tests.systemd.conftest import Debs
from tests.systemd.guest import GUEST_CA, GuestAgents
from tests.systemd.installed import SERVICE, Installed
from tests.systemd.test_package_agent import CHANNEL, TRUSTED_KEY, PackageGuest

NAMESPACE = "edge"
LINK_DIR = "/opt/edge/bin"
DATA_DIR = f"/var/lib/teleport_{NAMESPACE}"
DROPIN = "/etc/systemd/system/shepherd.service.d/60-agent-paths.conf"


@pytest.fixture
def installed(systemd_host: SystemdHost) -> Installed:
    return Installed(systemd_host)


def _install(installed: Installed, debs: Debs) -> str:
    result = installed.apt("install", deb=debs.current)
    assert result.returncode == 0, result.stdout + result.stderr
    return installed.wait_serving()


def _mount_options(installed: Installed, pid: str, path: str) -> set[str]:
    """The options of the mount that holds ``path`` as the process ``pid`` sees it."""
    best: tuple[int, set[str]] = (-1, set())
    for line in installed.host.path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        fields = line.split()
        point = fields[4]
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= best[0]:  # the last, deepest mount is the one in force
            best = (len(point), set(fields[5].split(",")))
    return best[1]


def test_a_namespaced_agent_with_its_own_link_dir_is_updated_by_the_hardened_daemon(
    installed: Installed,
    shepherd_debs: Debs,
    cdn: Cdn,
    cluster: ClusterEmulator,
    sandbox_ca: SandboxCA,
) -> None:
    host = installed.host
    guest = GuestAgents(host, cdn, cluster, namespace=NAMESPACE, link_dir=LINK_DIR)
    guest.copy_ca(sandbox_ca)
    guest.lay_out()
    host.path(f"{DATA_DIR}/host_uuid").write_text("4f1b0a5e-2c6d-4e8f-9a0b-1c2d3e4f5a6b")  # joined
    first = _install(installed, shepherd_debs)
    for path in (LINK_DIR, DATA_DIR):  # the unit's ReadWritePaths= do not name them
        assert "ro" in _mount_options(installed, first, path), path
    settings = installed.shepherd(
        "settings", "set", f"network.ca_bundle={GUEST_CA}", f"download.base_url={cdn.base_url}"
    )
    assert settings.returncode == 0, settings.stdout + settings.stderr
    guest.publish("17.2.1")
    old_pid = guest.wait_ready()
    added = installed.shepherd("agents", "add", NAMESPACE)
    assert added.returncode == 0, added.stdout + added.stderr

    update = installed.shepherd("update", NAMESPACE, "--now")
    assert update.returncode == 0, update.stdout + update.stderr + installed.journal()
    assert guest.wait_ready() != old_pid
    assert guest.running_version() == "17.2.1"
    link = host.run("readlink", f"{LINK_DIR}/teleport").stdout.strip()
    assert link.startswith(f"/opt/teleport/{NAMESPACE}/versions/17.2.1/"), link
    assert host.path(f"{DATA_DIR}/teleport-update.id").is_file()  # the updater id, as v2 does
    # opened for the running daemon: no restart
    assert installed.service()["MainPID"] == first
    for path in (LINK_DIR, DATA_DIR):
        assert "rw" in _mount_options(installed, first, path), path
    assert "ro" in _mount_options(installed, first, "/usr/bin")
    dropin = host.path(DROPIN).read_text()
    assert f"-{LINK_DIR}" in dropin and f"-{DATA_DIR}" in dropin, dropin

    # and after a restart the unit itself has them: a rollback writes both again
    host.systemctl("restart", SERVICE)
    second = installed.wait_serving(not_pid=first)
    for path in (LINK_DIR, DATA_DIR):
        assert "rw" in _mount_options(installed, second, path), path
    assert "ro" in _mount_options(installed, second, "/etc")
    rollback = installed.shepherd("rollback", NAMESPACE, "--reason", "one click")
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr + installed.journal()
    guest.wait_ready()
    assert guest.running_version() == "17.1.0"

    purged = installed.apt("purge", "agent-shepherd")  # the drop-in is Shepherd's own
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert not host.path(DROPIN).exists() and not host.path(DROPIN).parent.exists()


def test_a_package_agent_is_updated_with_apt_by_the_hardened_daemon(
    installed: Installed,
    shepherd_debs: Debs,
    package_repos: PackageRepos,
    emulator: ClusterEmulator,
    sandbox_ca: SandboxCA,
) -> None:
    host = installed.host
    guest = PackageGuest(host, package_repos.cdn, emulator)
    guest.repos = package_repos
    guest.copy_ca(sandbox_ca)
    host.path(TRUSTED_KEY).parent.mkdir(parents=True, exist_ok=True)
    host.path(TRUSTED_KEY).write_bytes(package_repos.trusted_key.public_gpg.read_bytes())
    guest.install_first("17.2.1")
    guest.settings()
    first = _install(installed, shepherd_debs)
    added = installed.shepherd("agents", "add", "package")
    assert added.returncode == 0, added.stdout + added.stderr + installed.journal()
    host.wait_for(guest.held, 60, "the installed daemon to hold the package agent's version")

    emulator.set_channel(CHANNEL, version="17.3.0", critical=True)
    done = installed.shepherd_json("check", "package")
    assert isinstance(done, dict) and done["outcome"]["ok"], (done, installed.journal())
    assert guest.version() == "17.3.0" and guest.held()
    guest.wait_ready()
    assert guest.running_version() == "17.3.0"
    # apt ran in transient units beside the daemon, which stayed read-only throughout
    ran = host.run(
        "journalctl", "--no-pager", "-o", "cat", "-u", "shepherd-pkg-*", check=False
    ).stdout
    assert "agent-shepherd package manager: apt-get" in ran, ran[-3000:]
    assert installed.service()["MainPID"] == first
    for path in ("/usr", "/etc/apt", "/var/lib/dpkg"):
        assert "ro" in _mount_options(installed, first, path), path

    back = installed.shepherd("rollback", "package", "--reason", "one click", timeout=300)
    assert back.returncode == 0, back.stdout + back.stderr + installed.journal()
    assert guest.version() == "17.2.1" and guest.held()
    guest.wait_ready()
