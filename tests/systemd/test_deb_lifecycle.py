"""The .deb's whole life on a booted systemd host: apt-get install, the service systemd runs
(notify, watchdog), updates through the installed daemon, upgrade, remove and purge."""

from __future__ import annotations

import hashlib
import signal
from collections.abc import Iterator

import pytest

from sandbox.agentbuild import Behaviour
from sandbox.cdn import Cdn
from sandbox.certs import SandboxCA
from sandbox.emulator import ClusterEmulator
from sandbox.systemd_host import SystemdHost
from tests.systemd.conftest import Debs
from tests.systemd.guest import GUEST_CA, GuestAgents
from tests.systemd.installed import SERVICE, Installed, left_behind_and_changed


@pytest.fixture
def installed(systemd_host: SystemdHost) -> Installed:
    return Installed(systemd_host)


@pytest.fixture
def guest(
    systemd_host: SystemdHost, cdn: Cdn, cluster: ClusterEmulator, sandbox_ca: SandboxCA
) -> Iterator[GuestAgents]:
    agents = GuestAgents(systemd_host, cdn, cluster)
    agents.copy_ca(sandbox_ca)
    yield agents


def _install(installed: Installed, deb: object) -> None:
    result = installed.apt("install", deb=deb)  # type: ignore[arg-type]
    assert result.returncode == 0, result.stdout + result.stderr


def test_install_gives_the_group_dirs_a_notify_service_and_the_socket(
    installed: Installed, shepherd_debs: Debs
) -> None:
    host = installed.host
    _install(installed, shepherd_debs.current)

    assert host.run("getent", "group", "shepherd").stdout.startswith("shepherd:x:")
    assert host.systemctl("is-enabled", SERVICE).stdout.strip() == "enabled"
    installed.wait_serving()
    state = installed.service()
    assert state["Type"] == "notify"
    assert state["StatusText"] == "serving"  # READY=1 and STATUS= as systemd saw them
    socket_mode = host.run("stat", "-c", "%F %a %U", "/run/shepherd/api.sock").stdout.split()
    assert socket_mode[0] == "socket" and socket_mode[-1] == "root"
    assert host.run("stat", "-c", "%a %U", "/run/shepherd").stdout.split() == ["755", "root"]
    for path, mode in {
        "/opt/agent-shepherd/shepherd": "755",
        "/lib/systemd/system/shepherd.service": "644",
    }.items():
        assert host.run("stat", "-c", "%a %U", path).stdout.split() == [mode, "root"], path
    for command in ("/usr/bin/agent-shepherd", "/usr/bin/shepherd"):  # the second: u-a's
        target = host.run("readlink", "-f", command).stdout.strip()
        assert target == "/opt/agent-shepherd/shepherd", command
    assert host.run("readlink", "/usr/bin/shepherd").stdout.strip() == "/etc/alternatives/shepherd"


def test_the_installed_service_is_hardened(installed: Installed, shepherd_debs: Debs) -> None:
    """systemd's own rating of the unit's sandbox, and the sandbox in force: the daemon sees
    a read-only system but for the paths it writes."""
    host = installed.host
    _install(installed, shepherd_debs.current)
    installed.wait_serving()

    rating = host.run("systemd-analyze", "security", "--no-pager", SERVICE).stdout
    exposure = float(rating.rsplit("Overall exposure level for shepherd.service:", 1)[1].split()[0])
    assert exposure <= 3.0, rating
    pid = installed.service()["MainPID"]
    mounts = host.path(f"/proc/{pid}/mountinfo").read_text().splitlines()

    def options(mount_point: str) -> set[str]:
        for line in reversed(mounts):  # the last mount over a point is the one in force
            fields = line.split()
            if fields[4] == mount_point:
                return set(fields[5].split(","))
        raise AssertionError(f"{mount_point} is not a mount point of the daemon: {mounts}")

    assert "ro" in options("/")
    assert "rw" in options("/etc/shepherd") and "rw" in options("/var/lib/shepherd")
    assert "rw" in options("/etc/systemd/system")
    sandbox = host.show(SERVICE, "ProtectSystem", "NoNewPrivileges", "PrivateTmp", "ProtectHome")
    assert sandbox == {
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
    }


def test_the_watchdog_restarts_a_daemon_that_stopped_answering(
    installed: Installed, shepherd_debs: Debs
) -> None:
    host = installed.host
    _install(installed, shepherd_debs.current)
    dropin = host.path("/etc/systemd/system/shepherd.service.d/watchdog.conf")
    dropin.parent.mkdir(parents=True)
    dropin.write_text("[Service]\nWatchdogSec=4s\nRestartSec=1s\n")  # the same, faster
    host.systemctl("daemon-reload")
    host.systemctl("restart", SERVICE)
    first = installed.wait_serving()
    assert installed.service()["WatchdogUSec"] == "4s"
    before = int(installed.service()["NRestarts"])
    pings: set[str] = set()

    def pinged_again() -> bool:
        pings.add(host.show(SERVICE, "WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"])
        return len(pings) >= 4

    host.wait_for(pinged_again, 30, "the daemon to ping the watchdog over several periods")
    assert installed.service()["MainPID"] == first
    assert int(installed.service()["NRestarts"]) == before

    host.run("kill", f"-{signal.SIGSTOP.name}", first)

    second = installed.wait_serving(timeout=60, not_pid=first)
    assert second != first
    assert int(installed.service()["NRestarts"]) == before + 1
    assert "watchdog" in installed.journal().lower()


def test_updates_and_rollbacks_through_the_installed_daemon(
    installed: Installed, guest: GuestAgents, shepherd_debs: Debs
) -> None:
    guest.lay_out()
    _install(installed, shepherd_debs.current)
    installed.wait_serving()
    settings = installed.shepherd(
        "settings",
        "set",
        f"network.ca_bundle={GUEST_CA}",
        f"download.base_url={guest.cdn.base_url}",
    )
    assert settings.returncode == 0, settings.stdout + settings.stderr
    guest.publish("17.2.1")
    old_pid = guest.wait_ready()

    update = installed.shepherd("update", "--now")
    assert update.returncode == 0, update.stdout + update.stderr + installed.journal()
    assert guest.wait_ready() != old_pid
    assert guest.running_version() == "17.2.1"

    rollback = installed.shepherd("rollback", "--reason", "one click")
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    guest.wait_ready()
    assert guest.running_version() == "17.1.0"

    installed.shepherd("clear-bad", "default", "17.2.1")
    guest.publish("17.3.0", behaviour=Behaviour.named("crash-at-start"))
    guest.cluster.set_cluster(edition="community", server_version="17.3.0")
    guest.cluster.set_group("default", version="17.3.0", in_window=False, jitter=0)
    failed = installed.shepherd("update", "--now")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "rolled back to 17.1.0" in failed.stdout
    guest.wait_ready()
    assert guest.running_version() == "17.1.0"
    history = installed.shepherd_json("history")
    assert isinstance(history, list)
    assert [entry["event"] for entry in history][:1] == ["update"]


def _state_digest(installed: Installed) -> dict[str, str]:
    out = installed.host.run(
        "find",
        "/etc/shepherd",
        "/var/lib/shepherd",
        "/opt/teleport/default/shepherd",
        "-type",
        "f",
        check=False,
    ).stdout.split()
    return {  # settings, secrets and history; not the lock (it names the holder's PID)
        path: hashlib.sha256(installed.host.path(path).read_bytes()).hexdigest()
        for path in sorted(out)
        if not path.endswith(".lock")
    }


def test_upgrade_keeps_state_remove_stops_and_purge_removes_only_its_own(
    installed: Installed, guest: GuestAgents, shepherd_debs: Debs
) -> None:
    host = installed.host
    guest.lay_out()
    host.path("/opt/teleport/default/keep-me").write_text("the agents' files are not ours\n")
    before_install = installed.snapshot()
    _install(installed, shepherd_debs.current)
    first = installed.wait_serving()
    assert installed.shepherd("settings", "set", f"network.ca_bundle={GUEST_CA}").returncode == 0
    secret = installed.host.run(
        "/usr/bin/shepherd", "secret", "set", "proxy-password", input="s3cret\n", check=False
    )
    assert secret.returncode == 0, secret.stdout + secret.stderr
    for change in ("pin", "unpin"):  # history entries; update.yaml ends as it was
        assert installed.shepherd(change, "default").returncode == 0
    state = _state_digest(installed)
    assert any("settings" in path for path in state), state
    assert any("history" in path for path in state), state

    _install(installed, shepherd_debs.newer)

    second = installed.wait_serving(not_pid=first)
    assert host.run("dpkg-query", "-W", "-f=${Version}", "agent-shepherd").stdout == (
        shepherd_debs.newer_version
    )
    exe = host.run("readlink", f"/proc/{second}/exe").stdout.strip()
    # the new file, not a deleted old one; under ProtectSystem= the daemon has its own mount
    # of "/", which this chroot-booted host shows with the overlay's path in front
    assert exe.endswith("/opt/agent-shepherd/shepherd") and "(deleted)" not in exe, exe
    assert _state_digest(installed) == state

    removed = installed.apt("remove", "agent-shepherd")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert host.systemctl("is-active", SERVICE, check=False).stdout.strip() == "inactive"
    assert not host.path("/opt/agent-shepherd/shepherd").exists()
    assert _state_digest(installed) == state  # remove keeps settings, secrets, history

    purged = installed.apt("purge", "agent-shepherd")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    left, changed, gone = left_behind_and_changed(before_install, installed.snapshot())
    # Purge never touches /opt/teleport: what Shepherd recorded beside an agent (its history
    # and pins, /opt/teleport/<ns>/shepherd/) and the lock it shares with teleport-update stay
    # with the agent.
    beside_agent = {
        "/opt/teleport/default/shepherd",
        "/opt/teleport/default/shepherd/history.jsonl",
        "/opt/teleport/default/update.lock",
    }
    left = [path for path in left if path not in beside_agent]
    assert left == [], f"files left behind after purge: {left}"
    assert changed == [], f"files changed that are not Shepherd's: {changed}"
    assert gone == [], f"files removed that were not Shepherd's: {gone}"
    assert host.path("/opt/teleport/default/keep-me").is_file()
    assert host.path("/opt").is_dir()


def test_purge_on_a_host_with_an_empty_opt_keeps_opt(
    installed: Installed, shepherd_debs: Debs
) -> None:
    host = installed.host
    host.run("mv", "/opt/shepherd-venv", "/var/tmp/shepherd-venv")  # /opt now empty
    _install(installed, shepherd_debs.current)
    purged = installed.apt("purge", "agent-shepherd")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert host.run("stat", "-c", "%F %a %U", "/opt").stdout.split() == ["directory", "755", "root"]
