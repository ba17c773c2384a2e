"""A package agent through the real daemon process and the CLI: listed with its kind,
package, version and repository; explain, check, update now, one-click rollback and
history over the API; ``agents remove`` releases the version lock.

apt installs real .deb packages from the signed repository into a Debian root (chroot);
the daemon manages that root (``--root``) and restarts the installed agent under
supervisord (the root is not booted: tests/systemd/ has the booted host).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.packages import AptBackend, PackageRepo, Runner
from sandbox.agentbuild import write_agent_config
from sandbox.debroot import overlay_root
from sandbox.emulator import ClusterEmulator
from sandbox.ports import wait_until
from sandbox.supervisor import Supervisor
from tests.fixtures.daemon import RunningDaemon, spawn, wait_for_api
from tests.fixtures.packages import PackageRepos
from tests.fixtures.sandboxhost import SandboxHost

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def apt_root(apt_base_root: Path) -> Iterator[Path]:
    """The Debian root under a short path: the agent's debug socket inside it must fit
    AF_UNIX's 108 bytes (a pytest tmp path does not always)."""
    where = Path(tempfile.mkdtemp(prefix="shp-", dir="/tmp"))
    try:
        with overlay_root(apt_base_root, where) as root:
            yield root
    finally:
        shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
def package_daemon(
    package_repos: PackageRepos,
    apt_root: Path,
    tmp_path: Path,
    supervisord: Supervisor,
    emulator: ClusterEmulator,
) -> Iterator[tuple[RunningDaemon, AptBackend]]:
    repo = PackageRepo(
        "teleport",
        package_repos.apt_url(),
        package_repos.trusted_key.public_gpg,
        ca_bundle=package_repos.ca,
    )
    apt = AptBackend(repo, Runner(root=apt_root, chroot=True, timeout=300), lock_wait=10)
    apt.configure()
    apt.install_exact("teleport", "17.2.1")  # as Teleport's install script would have
    apt.release("teleport")
    upgrade_dir = apt_root / "etc/teleport-upgrade.d"
    upgrade_dir.mkdir(parents=True)
    (upgrade_dir / "endpoint").write_text(
        f"{emulator.proxy_addr}/v1/webapi/automaticupgrades/channel/stable/cloud\n"
    )
    settings = apt_root / "etc/shepherd/settings.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(
        f'[network]\nca_bundle = "{package_repos.ca}"\n\n'
        f'[package]\nrepository_url = "{package_repos.apt_url()}"\n'
        f'signing_key = "{package_repos.trusted_key.public_gpg}"\n'
    )
    write_agent_config(apt_root / "etc/teleport.yaml", apt_root / "var/lib/teleport")
    supervisord.add_program(
        "teleport",
        [
            str(apt_root / "usr/local/bin/teleport"),
            "start",
            "--config",
            str(apt_root / "etc/teleport.yaml"),
            "--pid-file",
            str(apt_root / "run/teleport.pid"),
        ],
    )
    socket, log = tmp_path / "api.sock", tmp_path / "daemon.log"
    argv = [
        sys.executable,
        "-m",
        "engine.cli",
        "--socket",
        str(socket),
        "daemon",
        "--root",
        str(apt_root),
        "--service",
        "supervisord",
        "--supervisor-config",
        str(supervisord.config_path),
        "--first-check",
        "3600",
        "--poll-interval",
        "3600",
        "--health-poll",
        "0.2",
        "--health-timeout",
        "20",
    ]
    host = SandboxHost.__new__(SandboxHost)  # only the CLI helpers of RunningDaemon are used
    daemon = RunningDaemon(spawn(argv, log), socket, host, emulator, log, argv)
    try:
        wait_for_api(daemon)
        wait_until(
            lambda: daemon.api.get("/v1/agents/package")["health"]["ready"] is True,
            60,
            "the package agent to run and be ready",
        )
        yield daemon, apt
    finally:
        daemon.stop(signal.SIGTERM)


def cli(daemon: RunningDaemon, *args: str) -> subprocess.CompletedProcess[str]:
    return daemon.cli(*args)


def test_package_agent_listed_updated_rolled_back_and_handed_back_through_the_daemon(
    package_daemon: tuple[RunningDaemon, AptBackend], emulator: ClusterEmulator
) -> None:
    daemon, apt = package_daemon
    api = daemon.api

    def apt_held() -> bool:
        return apt.is_locked("teleport")

    [agent] = api.get("/v1/agents")["agents"]
    assert agent["agent"] == "package" and agent["kind"] == "package"
    assert (agent["package"], agent["version"], agent["manager"]) == ("teleport", "17.2.1", "dpkg")
    assert agent["repository"]["url"].endswith("/apt-trusted")

    wait_until(apt_held, 60, "the daemon to hold the package agent's version")
    status = cli(daemon, "status")
    assert status.returncode == 0, status.stderr
    assert "package teleport 17.2.1 (dpkg), held, from https://" in status.stdout

    emulator.set_channel("stable/cloud", version="17.3.0", critical=True)
    explained = api.get("/v1/agents/package/explain")["decision"]
    assert explained["reason"] == "update-critical", explained
    assert apt.installed("teleport").version == "17.2.1"  # type: ignore[union-attr]

    checked = api.post("/v1/agents/package/check")
    assert checked["outcome"]["ok"], checked
    assert apt.installed("teleport").version == "17.3.0"  # type: ignore[union-attr]
    after = api.get("/v1/agents/package")
    assert after["version"] == "17.3.0" and after["locked"] is True
    assert after["backup"] == "17.2.1" and after["health"]["ready"] is True
    assert "package teleport 17.3.0 (dpkg), held, from" in cli(daemon, "status").stdout

    emulator.set_channel("stable/cloud", version="17.4.0", critical=False)  # crashes at start
    forced = api.post("/v1/agents/package/update", {"now": True})
    assert forced["outcome"]["reason"] == "rolled-back", forced
    assert apt.installed("teleport").version == "17.3.0"  # type: ignore[union-attr]
    assert api.get("/v1/agents/package")["skip"] == "17.4.0"
    cleared = cli(daemon, "clear-bad", "package", "17.4.0")
    assert cleared.returncode == 0, cleared.stdout + cleared.stderr
    assert api.get("/v1/agents/package")["skip"] is None

    rolled = cli(daemon, "rollback", "package", "--reason", "17.3.0 breaks our plugin")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert apt.installed("teleport").version == "17.2.1"  # type: ignore[union-attr]
    assert apt.is_locked("teleport")

    history = cli(daemon, "history", "package", "--json")
    assert history.returncode == 0, history.stderr
    events = {(r["event"], r["outcome"]) for r in json.loads(history.stdout)}
    assert {("update", "succeeded"), ("update", "rolled-back"), ("rollback", "succeeded")} <= events

    removed = cli(daemon, "agents", "remove", "package")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "its version hold is released" in removed.stdout
    assert not apt.is_locked("teleport")
    assert api.get("/v1/agents")["agents"] == []

    added = cli(daemon, "agents", "add", "package")
    assert added.returncode == 0, added.stdout + added.stderr
    assert apt.is_locked("teleport")
    [again] = api.get("/v1/agents")["agents"]
    assert again["kind"] == "package" and again["version"] == "17.2.1"


def test_package_agent_pinned_and_disabled_through_the_daemon_across_a_restart(
    package_daemon: tuple[RunningDaemon, AptBackend], emulator: ClusterEmulator
) -> None:
    """pin/unpin/enable/disable of a package agent (it has no update.yaml): kept by Shepherd,
    shown in status and explain, honoured by its passes, kept across a daemon restart."""
    daemon, apt = package_daemon
    api = daemon.api
    wait_until(lambda: apt.is_locked("teleport"), 60, "the daemon to hold the version")
    emulator.set_channel("stable/cloud", version="17.3.0", critical=True)

    pinned = cli(daemon, "pin", "package")
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    agent = api.get("/v1/agents/package")
    assert agent["pinned"] is True and agent["enabled"] is True
    assert agent["effective"]["pinned"]["from"].startswith("Shepherd"), agent["effective"]
    rows = [line.split() for line in cli(daemon, "status").stdout.splitlines()]
    assert ["package", "pinned"] in [row[:2] for row in rows], rows
    explained = api.get("/v1/agents/package/explain")["decision"]
    assert explained["reason"] == "pinned", explained
    forced = api.post("/v1/agents/package/update", {"now": True})
    assert forced["decision"]["reason"] == "pinned", forced
    assert apt.installed("teleport").version == "17.2.1"  # type: ignore[union-attr]

    daemon.restart()  # the pin is Shepherd's own state on disk, not the daemon's memory
    assert api.get("/v1/agents/package")["pinned"] is True
    assert api.post("/v1/agents/package/check")["decision"]["reason"] == "pinned"

    assert cli(daemon, "unpin", "package").returncode == 0
    disabled = cli(daemon, "disable", "package")
    assert disabled.returncode == 0, disabled.stdout + disabled.stderr
    agent = api.get("/v1/agents/package")
    assert (agent["enabled"], agent["pinned"]) == (False, False)
    asked = len(emulator.requests())
    checked = api.post("/v1/agents/package/check")
    assert checked["decision"]["reason"] == "disabled", checked
    assert len(emulator.requests()) == asked  # disabled: the channel is not even asked
    assert apt.installed("teleport").version == "17.2.1"  # type: ignore[union-attr]

    enabled = cli(daemon, "enable", "package")
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    checked = api.post("/v1/agents/package/check")
    assert checked["outcome"]["ok"], checked
    assert apt.installed("teleport").version == "17.3.0"  # type: ignore[union-attr]
    history = json.loads(cli(daemon, "history", "package", "--json").stdout)
    changes = [r["reason"] for r in history if r["event"] == "settings"]
    assert changes.count("spec-pinned") == 2 and changes.count("spec-enabled") == 2, changes
