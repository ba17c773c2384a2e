"""The demo: Shepherd keeping a sandbox host's Teleport agent on its cluster's version.

Everything runs unprivileged on 127.0.0.1 in a temporary directory: a cluster emulator (the
proxy's /webapi/find), a TLS CDN (nginx) with real release-shaped tarballs, an agent laid
out exactly as teleport-update leaves a host, run by supervisord, and the real Shepherd
daemon. The story is told by running the real ``shepherd`` CLI:

    1  status and "why not now?" while the cluster's update window is closed
    2  the window opens: Shepherd downloads, verifies, switches and health-checks 17.2.1
    3  the admin rolls 17.2.1 back by hand: one click, remembered as bad
    4  the cluster moves to 17.3.0, a build that crashes at start: automatic rollback
    5  the history of it all

With a desktop (DISPLAY or WAYLAND_DISPLAY set), the tray app runs beside it against the
same daemon (``sandbox.demo_tray``) and the demo waits for Enter before it ends.

    python -m sandbox.demo [--keep] [--workdir DIR] [--no-tray]
    python -m sandbox.demo --systemd   # the same story on a booted systemd host (root)
    python -m sandbox.demo --package     # as root: a package agent updated by apt (demo_package)
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from sandbox.agentbuild import Behaviour, build_artifact
from sandbox.cdn import Cdn
from sandbox.certs import SandboxCA
from sandbox.demo_package import PackageDemo
from sandbox.demo_tray import demo_tray
from sandbox.emulator import ClusterEmulator
from sandbox.hostlayout import lay_out_teleport_update_host
from sandbox.narration import say
from sandbox.ports import wait_until
from sandbox.supervisor import Supervisor

REPO = Path(__file__).resolve().parents[1]


class Demo:
    def __init__(self, work: Path, *, tray: bool = True) -> None:
        self.work = work
        self.tray = tray  # show the tray app too when there is a desktop
        self.root = work / "host"
        self.socket = work / "api.sock"
        self.failures = 0

    def shepherd(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = ["shepherd", *args]
        print(f"\n$ {shlex.join(command)}", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "engine.cli", "--socket", str(self.socket), *args],
            text=True,
            check=False,
            cwd=REPO,
            timeout=300,
        )
        if done.returncode not in (0, 1):
            self.failures += 1
            print(f"(exit code {done.returncode})")
        return done

    def run(self) -> int:
        ca = SandboxCA.create(self.work / "ca")
        cdn_root = self.work / "cdn"
        cdn_root.mkdir()
        say("Setting up the sandbox: a Teleport cluster emulator, a TLS CDN (nginx), an agent "
            "on 17.1.0 laid out as teleport-update leaves a host, run by supervisord.")  # fmt: skip
        with (
            ClusterEmulator(ca.server_pair("proxy")) as cluster,
            Cdn(cdn_root, ca.server_pair("cdn"), workdir=self.work / "nginx") as cdn,
            Supervisor(self.work / "supervisor") as supervisor,
        ):
            cluster.set_cluster(edition="community", server_version="17.2.1")
            cluster.set_group("default", version="17.2.1", in_window=False, jitter=0)
            self._lay_out_host(cluster.proxy_addr, supervisor)
            for version, behaviour in (
                ("17.2.1", None),
                ("17.3.0", Behaviour(crash_at_start=True)),
            ):
                build_artifact(cdn_root, version, behaviour=behaviour, padding_bytes=24 << 20)
            daemon = self._start_daemon(ca.ca_path, cdn.base_url, supervisor.config_path)
            try:
                with demo_tray(self.socket, self.work, wanted=self.tray) as tray_log:
                    self._story(cluster)
                    if tray_log is not None and sys.stdin.isatty():
                        input("\nPress Enter to end the demo (the tray app closes with it) ")
            finally:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(120)
        return 1 if self.failures else 0

    def run_package(self) -> int:
        PackageDemo(self.work, self.shepherd, say).run()
        return 1 if self.failures else 0

    def _lay_out_host(self, proxy: str, supervisor: Supervisor) -> None:
        layout = lay_out_teleport_update_host(
            self.root, self.work / "installed-artifacts", proxy=proxy
        )  # 17.1.0 active, 17.0.5 backup, as teleport-update leaves a host
        supervisor.add_program(
            layout.unit_name,
            [str(layout.link_dir / "teleport"), "start", "--config", str(layout.agent_config),
             "--pid-file", str(layout.pid_file)],
        )  # fmt: skip
        from engine.service.health import read_pid, readyz  # noqa: PLC0415

        def ready() -> bool:
            pid = read_pid(layout.pid_file)
            try:
                return pid is not None and readyz(layout.debug_socket, 1)[1] == {
                    "status": "ok",
                    "pid": pid,
                }
            except OSError:
                return False

        wait_until(ready, 30, "the sandbox agent to be ready")

    def _start_daemon(self, ca: Path, base_url: str, supervisor: Path) -> subprocess.Popen[bytes]:
        log = (self.work / "daemon.log").open("wb")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "--socket", str(self.socket), "daemon",
             "--root", str(self.root), "--service", "supervisord",
             "--supervisor-config", str(supervisor), "--ca-bundle", str(ca),
             "--base-url", base_url, "--first-check", "3600", "--health-poll", "0.5",
             "--health-timeout", "20"],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip
        log.close()
        wait_until(
            lambda: self.socket.exists() or daemon.poll() is not None, 30, "the daemon to start"
        )
        if daemon.poll() is not None:
            raise RuntimeError((self.work / "daemon.log").read_text())
        return daemon

    def _story(self, cluster: ClusterEmulator) -> None:
        say("1. The agent runs 17.1.0. The cluster wants 17.2.1, but its update window for "
            "group 'default' is closed, so Shepherd waits and says why.")  # fmt: skip
        self.shepherd("status")
        self.shepherd("explain", "--agent", "default")

        say("2. The cluster opens the window. 'shepherd check' does what the timer would: "
            "download over TLS, verify SHA-256, install side by side, switch the links "
            "atomically, reload the agent and health-check it.")  # fmt: skip
        cluster.set_group("default", in_window=True)
        self.shepherd("check")

        say("3. The admin does not like what 17.2.1 does: one-click rollback to the backup, "
            "17.1.0, health-checked. 17.2.1 is remembered as bad until cleared.")  # fmt: skip
        self.shepherd("rollback", "--reason", "demo: roll back by hand")
        self.shepherd("status")

        say("4. The cluster moves to 17.3.0, a build that crashes at start. The health check "
            "fails, Shepherd puts 17.1.0 back by itself and marks 17.3.0 as skipped.")  # fmt: skip
        cluster.set_cluster(server_version="17.3.0")
        cluster.set_group("default", version="17.3.0")
        self.shepherd("update", "--now")
        self.shepherd("status")

        say("5. Everything that changed, with who asked and how long it took:")
        self.shepherd("history")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--workdir", type=Path, help="use this directory (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the directory afterwards")
    parser.add_argument(
        "--systemd",
        action="store_true",
        help="tell the story on a booted systemd host (needs root; builds its root once)",
    )
    parser.add_argument(
        "--no-tray",
        action="store_true",
        help="do not start the tray app, even when a desktop is there (DISPLAY/WAYLAND_DISPLAY)",
    )
    parser.add_argument(
        "--package",
        action="store_true",
        help="the package-agent story instead (root: apt in a Debian root; sandbox.demo_package)",
    )
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="shepherd-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.systemd:
            from sandbox.demo_systemd import SystemdDemo  # noqa: PLC0415

            code = SystemdDemo(work).run()
        else:
            demo = Demo(work, tray=not args.no_tray)
            code = demo.run_package() if args.package else demo.run()
    finally:
        if args.keep:
            print(f"\nThe sandbox is kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
