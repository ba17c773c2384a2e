"""The demo's story on a booted systemd host (``python -m sandbox.demo --systemd``).

The same five steps as the quick demo, but the agent runs as ``teleport.service`` under a
real systemd (a cached Debian root booted in private namespaces, ``sandbox.systemd_host``)
and Shepherd's daemon is a ``Type=notify`` unit, so every reload, restart and rollback is
systemd's own. The cluster emulator and the nginx CDN run on this machine's 127.0.0.1,
which the booted host shares. Needs root (namespaces, mounts); the first run builds the
Debian root (a few minutes), later runs reuse it.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from sandbox.agentbuild import Behaviour, build_artifact
from sandbox.cdn import Cdn
from sandbox.certs import SandboxCA
from sandbox.debian_root import VENV, RootRecipe, ensure_root
from sandbox.emulator import ClusterEmulator
from sandbox.narration import say
from sandbox.systemd_host import Bind, SystemdHost

REPO = Path(__file__).resolve().parents[1]
GUEST_CA = "/etc/shepherd-demo/ca.pem"
API_SOCKET = "/run/shepherd/api.sock"
DAEMON_UNIT = "shepherd.service"
AGENT_UNIT = "teleport.service"
ROOT_PYTHON = "/usr/bin/python3"  # the root's own python3 runs the fake agent
PYTHON_ENV = {"PYTHONPATH": "/src", "PYTHONDONTWRITEBYTECODE": "1"}

__all__ = ["SystemdDemo"]


class SystemdDemo:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.failures = 0
        self.host: SystemdHost | None = None

    def run(self) -> int:
        ca = SandboxCA.create(self.work / "ca")
        cdn_root = self.work / "cdn"
        cdn_root.mkdir()
        say("Setting up: a cluster emulator and a TLS CDN (nginx) on 127.0.0.1, and a booted "
             "Debian host with systemd as PID 1 where the agent, on 17.1.0 as teleport-update "
             "leaves a host, runs as teleport.service.")  # fmt: skip
        base = ensure_root(RootRecipe.default())
        host_dir = Path(tempfile.mkdtemp(prefix="shepherd-demo-systemd-", dir="/var/tmp"))
        with (
            ClusterEmulator(ca.server_pair("proxy")) as cluster,
            Cdn(cdn_root, ca.server_pair("cdn"), workdir=self.work / "nginx") as cdn,
            SystemdHost(base, host_dir, binds=[Bind(REPO, "/src")]) as host,
        ):
            self.host = host
            cluster.set_cluster(edition="community", server_version="17.2.1")
            cluster.set_group("default", version="17.2.1", in_window=False, jitter=0)
            for version, behaviour in (
                ("17.2.1", None),
                ("17.3.0", Behaviour(crash_at_start=True)),
            ):
                build_artifact(cdn_root, version, behaviour=behaviour, interpreter=ROOT_PYTHON)
            target = host.path(GUEST_CA)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(Path(ca.ca_path).read_bytes())
            self._lay_out(cluster.proxy_addr)
            self._start_daemon(cdn.base_url)
            self._story(cluster)
        shutil.rmtree(host_dir, ignore_errors=True)
        return 1 if self.failures else 0

    def _guest(self) -> SystemdHost:
        if self.host is None:
            raise RuntimeError("the systemd host is not booted")
        return self.host

    def _lay_out(self, proxy: str) -> None:
        host = self._guest()
        host.python(
            "from pathlib import Path\n"
            "from sandbox.hostlayout import lay_out_teleport_update_host\n"
            f"lay_out_teleport_update_host(Path('/'), Path('/var/tmp/artifacts'), proxy={proxy!r},"
            f" interpreter={ROOT_PYTHON!r})\n"
        )
        host.systemctl("daemon-reload")
        host.systemctl("enable", "--now", AGENT_UNIT)

    def _start_daemon(self, base_url: str) -> None:
        host = self._guest()
        host.run("groupadd", "--system", "-f", "shepherd")
        argv = [
            f"{VENV}/bin/python", "-m", "engine.cli", "--socket", API_SOCKET, "daemon",
            "--root", "/", "--service", "systemd", "--ca-bundle", GUEST_CA,
            "--base-url", base_url, "--arch", "amd64", "--first-check", "3600",
            "--health-poll", "0.5", "--health-timeout", "20",
        ]  # fmt: skip
        host.run(
            "systemd-run", f"--unit={DAEMON_UNIT}", "-p", "Type=notify", "-p", "NotifyAccess=main",
            "-p", "RuntimeDirectory=shepherd",
            *(f"--setenv={k}={v}" for k, v in PYTHON_ENV.items()), *argv,
            timeout=90,
        )  # fmt: skip

    def shepherd(self, *args: str) -> subprocess.CompletedProcess[str]:
        print(f"\n$ {shlex.join(['shepherd', *args])}", flush=True)
        done = self._guest().run(
            f"{VENV}/bin/python", "-m", "engine.cli", "--socket", API_SOCKET, *args,
            env=PYTHON_ENV, check=False, timeout=300,
        )  # fmt: skip
        print(done.stdout + done.stderr, end="", flush=True)
        if done.returncode not in (0, 1):
            self.failures += 1
            print(f"(exit code {done.returncode})")
        return done

    def systemctl_status(self) -> None:
        host = self._guest()

        def settled() -> bool:
            shown = host.show(AGENT_UNIT, "ActiveState", "MainPID")
            return shown["ActiveState"] == "active" and shown["MainPID"] != "0"

        host.wait_for(settled, 60, f"{AGENT_UNIT} to be active")
        print(f"\n$ systemctl show {AGENT_UNIT} -p ActiveState -p MainPID -p NRestarts", flush=True)
        shown = host.show(AGENT_UNIT, "ActiveState", "MainPID", "NRestarts")
        print(" ".join(f"{k}={v}" for k, v in shown.items()), flush=True)

    def _story(self, cluster: ClusterEmulator) -> None:
        say("1. teleport.service runs 17.1.0. The cluster wants 17.2.1, but its update "
             "window is closed, so Shepherd waits and says why.")  # fmt: skip
        self.systemctl_status()
        self.shepherd("status")
        self.shepherd("explain", "--agent", "default")

        say("2. The window opens: Shepherd downloads, verifies, switches the links, rewrites "
             "the unit copy, runs daemon-reload and 'systemctl reload teleport.service', "
             "then health-checks the new MainPID.")  # fmt: skip
        cluster.set_group("default", in_window=True)
        self.shepherd("check")
        self.systemctl_status()

        say("3. One-click rollback to 17.1.0 through systemd; 17.2.1 is remembered as bad.")
        self.shepherd("rollback", "--reason", "demo: roll back by hand")
        self.shepherd("status")

        say("4. The cluster moves to 17.3.0, a build that crashes at start: systemd sees the "
             "crash, Shepherd puts 17.1.0 back within seconds and skips 17.3.0.")  # fmt: skip
        cluster.set_cluster(server_version="17.3.0")
        cluster.set_group("default", version="17.3.0")
        self.shepherd("update", "--now")
        self.systemctl_status()

        say("5. Everything that changed, with who asked and how long it took:")
        self.shepherd("history")
