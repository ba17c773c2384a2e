"""The package-agent demo (``python -m sandbox.demo --package``, as root): Shepherd updating
a Teleport agent that a v1 host installed with apt.

A Debian root (the cached debootstrap root, an overlayfs copy) gets ``teleport`` 17.2.1 from
a signed apt repository served by nginx over TLS; its ``/usr/local/bin/teleport`` runs under
supervisord (the root is not booted; ``tests/systemd/test_package_agent.py`` does the same
with systemd). The real daemon manages that root, and the story is told with the CLI:

    1  the package agent in ``shepherd status``: package, version, hold, repository
    2  the channel marks 17.3.0 critical: apt installs exactly that version, health-checked
    3  17.4.0 crashes at start: apt puts 17.3.0 back by itself
    4  history; ``agents remove`` releases the version hold
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from engine.packages import AptBackend, PackageRepo, Runner
from sandbox.agentbuild import Behaviour, write_agent_config
from sandbox.cdn import Cdn
from sandbox.certs import SandboxCA
from sandbox.debroot import ensure_apt_root, overlay_root
from sandbox.emulator import ClusterEmulator
from sandbox.packagebuild import build_deb
from sandbox.pkgrepos import AptRepo, SigningKey
from sandbox.ports import wait_until
from sandbox.supervisor import Supervisor

__all__ = ["PackageDemo"]

REPO = Path(__file__).resolve().parents[1]
CHANNEL = "stable/cloud"


class PackageDemo:
    def __init__(
        self,
        work: Path,
        shepherd: Callable[..., subprocess.CompletedProcess[str]],
        say: Callable[[str], None],
    ) -> None:
        self.work = work
        self.shepherd = shepherd  # runs and shows one CLI command against work/api.sock
        self.say = say

    def run(self) -> None:
        say, shepherd = self.say, self.shepherd
        say(
            "Package agent (v1 host): building teleport .debs (17.2.1, 17.3.0, 17.4.0 which "
            "crashes at start), a signed apt repository served by nginx over TLS, and a "
            "Debian root with 17.2.1 installed from it, run by supervisord."
        )
        ca = SandboxCA.create(self.work / "pkg-ca")
        key = SigningKey.create(self.work / "pkg-key", name="Demo Teleport Repo")
        repo = AptRepo(self.work / "pkg-www" / "apt")
        for version, behaviour in (
            ("17.2.1", "good"),
            ("17.3.0", "good"),
            ("17.4.0", "crash-at-start"),
        ):
            built = build_deb(
                self.work / "debs", "teleport", version, behaviour=Behaviour.named(behaviour)
            )
            repo.add(built.path)
        repo.publish(key)
        base = ensure_apt_root()
        with (
            ClusterEmulator(ca.server_pair("proxy")) as cluster,
            Cdn(
                self.work / "pkg-www", ca.server_pair("cdn"), workdir=self.work / "pkg-nginx"
            ) as cdn,
            Supervisor(self.work / "pkg-supervisor") as supervisor,
            overlay_root(base, self.work / "pkg-host") as root,
        ):
            url = f"{cdn.base_url}/apt"
            apt = self._install_first(root, url, key.public_gpg, ca.ca_path)
            self._host_files(root, url, key.public_gpg, ca.ca_path, cluster.proxy_addr)
            cluster.set_channel(CHANNEL, version="17.2.1", critical=False)
            supervisor.add_program(
                "teleport",
                [
                    str(root / "usr/local/bin/teleport"),
                    "start",
                    "--config",
                    str(root / "etc/teleport.yaml"),
                    "--pid-file",
                    str(root / "run/teleport.pid"),
                ],
            )
            wait_until((root / "run/teleport.pid").exists, 30, "the agent to start")
            socket = self.work / "api.sock"
            daemon = self._start_daemon(root, supervisor.config_path, socket)
            try:
                wait_until(partial(apt.is_locked, "teleport"), 60, "Shepherd to hold it")
                say(
                    "1. Shepherd finds the agent in the dpkg database and manages it as "
                    "'package': it holds its version (apt-mark hold) and takes over "
                    "teleport-upgrade.timer."
                )
                shepherd("status")
                say(
                    "2. The v1 channel marks 17.3.0 critical: apt installs exactly 17.3.0 "
                    "from the signed repository, Shepherd restarts and health-checks it."
                )
                cluster.set_channel(CHANNEL, version="17.3.0", critical=True)
                shepherd("check", "package")
                say(
                    "3. 17.4.0 crashes at start: the health check fails and apt puts 17.3.0 "
                    "back from the repository."
                )
                cluster.set_channel(CHANNEL, version="17.4.0", critical=True)
                shepherd("check", "package")
                shepherd("status")
                say("4. The history, then hand-back: the version hold is released.")
                shepherd("history", "package")
                shepherd("agents", "remove", "package")
            finally:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(120)

    def _install_first(self, root: Path, url: str, key: Path, ca: Path) -> AptBackend:
        apt = AptBackend(PackageRepo("teleport", url, key, ca_bundle=ca), Runner(root, True))
        apt.configure()
        apt.install_exact("teleport", "17.2.1")  # what Teleport's install script does
        apt.release("teleport")
        return apt

    def _host_files(self, root: Path, url: str, key: Path, ca: Path, proxy: str) -> None:
        write_agent_config(root / "etc/teleport.yaml", root / "var/lib/teleport", proxy=proxy)
        upgrade = root / "etc/teleport-upgrade.d"
        upgrade.mkdir(parents=True, exist_ok=True)
        (upgrade / "endpoint").write_text(
            f"{proxy}/v1/webapi/automaticupgrades/channel/{CHANNEL}\n"
        )
        settings = root / "etc/shepherd/settings.toml"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(
            f'[network]\nca_bundle = "{ca}"\n\n[package]\nrepository_url = "{url}"\n'
            f'signing_key = "{key}"\n'
        )

    def _start_daemon(self, root: Path, supervisor: Path, socket: Path) -> subprocess.Popen[bytes]:
        log_path = self.work / "pkg-daemon.log"
        with log_path.open("wb") as log:
            daemon = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "engine.cli",
                    "--socket",
                    str(socket),
                    "daemon",
                    "--root",
                    str(root),
                    "--service",
                    "supervisord",
                    "--supervisor-config",
                    str(supervisor),
                    "--first-check",
                    "3600",
                    "--health-poll",
                    "0.2",
                    "--health-timeout",
                    "20",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        wait_until(lambda: socket.exists() or daemon.poll() is not None, 30, "the daemon")
        if daemon.poll() is not None:
            raise RuntimeError(log_path.read_text())
        return daemon
