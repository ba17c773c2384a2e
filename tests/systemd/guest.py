"""A Teleport agent host inside the booted systemd host: the agent laid out as
``teleport-update`` leaves it and run by systemd as ``teleport.service`` from Shepherd's unit
copy, and the real Shepherd daemon run from this source tree (``/src``) with the venv the
cached root holds, as a ``Type=notify`` unit. The cluster emulator and the nginx CDN run on
the machine's 127.0.0.1, which the guest shares."""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from engine.service.health import readyz
from sandbox.agentbuild import Behaviour, build_artifact
from sandbox.cdn import Cdn
from sandbox.certs import SandboxCA
from sandbox.debian_root import VENV
from sandbox.emulator import ClusterEmulator
from sandbox.systemd_host import SystemdHost

GUEST_CA = "/etc/shepherd-test/ca.pem"
API_SOCKET = "/run/shepherd/api.sock"
DAEMON_UNIT = "shepherd-under-test.service"
AGENT_UNIT = "teleport.service"
PYTHON_ENV = {"PYTHONPATH": "/src", "PYTHONDONTWRITEBYTECODE": "1"}
ROOT_PYTHON = "/usr/bin/python3"  # the root's own python3 runs the fake agent


@dataclass
class GuestAgents:
    host: SystemdHost
    cdn: Cdn
    cluster: ClusterEmulator
    namespace: str = "default"
    link_dir: str | None = None  # update.yaml's spec.path; None: the namespace's default

    @property
    def suffix(self) -> str:
        return "" if self.namespace == "default" else f"_{self.namespace}"

    @property
    def agent_unit(self) -> str:
        return f"teleport{self.suffix}.service"

    @property
    def links(self) -> str:
        if self.link_dir:
            return self.link_dir
        return (
            "/usr/local/bin"
            if self.namespace == "default"
            else f"/opt/teleport/{self.namespace}/bin"
        )

    def publish(self, version: str, behaviour: Behaviour | None = None, **options: object) -> None:
        """Put a build on the CDN, its ``teleport`` run by the guest's python3."""
        build_artifact(
            self.cdn.root,
            version,
            behaviour=behaviour,
            interpreter=ROOT_PYTHON,
            **options,  # type: ignore[arg-type]
        )

    def lay_out(
        self,
        *,
        active: str = "17.1.0",
        backup: str | None = "17.0.5",
        edition: str = "community",
        behaviours: dict[str, str] | None = None,
    ) -> None:
        """The agent as teleport-update leaves it, enabled and started by systemd."""
        code = f"""
from pathlib import Path
from sandbox.agentbuild import Behaviour
from sandbox.hostlayout import lay_out_teleport_update_host
behaviours = {{v: Behaviour.named(n) for v, n in {behaviours or {}!r}.items()}}
lay_out_teleport_update_host(
    Path("/"), Path("/var/tmp/artifacts"), active={active!r}, backup={backup!r},
    edition={edition!r}, proxy={self.cluster.proxy_addr!r}, behaviours=behaviours,
    interpreter={ROOT_PYTHON!r}, namespace={self.namespace!r}, link_dir={self.link_dir!r})
"""
        self.host.python(code)
        self.host.systemctl("daemon-reload")
        self.host.systemctl("enable", "--now", self.agent_unit)
        self.wait_ready()

    def readyz_pid(self) -> int | None:
        try:
            status, body = readyz(self.host.path(f"/var/lib/teleport{self.suffix}/debug.sock"), 2)
        except OSError:
            return None
        pid = body.get("pid") if body and status == 200 else None
        return pid if isinstance(pid, int) else None

    def pid_file_pid(self) -> int | None:
        try:
            text = self.host.path(f"/run/teleport{self.suffix}.pid").read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def wait_ready(self, timeout: float = 30) -> int:
        """Wait until the agent's worker answers /readyz with the PID in its PID file."""
        found: list[int] = []

        def ready() -> bool:
            pid = self.pid_file_pid()
            if pid is not None and self.readyz_pid() == pid:
                found.append(pid)
                return True
            return False

        self.host.wait_for(ready, timeout, "the agent under systemd to be running and ready")
        return found[-1]

    def agent(self) -> dict[str, str]:
        return self.host.show(
            self.agent_unit,
            "ActiveState",
            "SubState",
            "MainPID",
            "NRestarts",
            "NeedDaemonReload",
            "FragmentPath",
            "ExecStart",
        )

    def running_version(self) -> str:
        out = self.host.run(f"{self.links}/teleport", "version").stdout
        return out.split()[1].removeprefix("v")

    def copy_ca(self, ca: SandboxCA) -> None:
        target = self.host.path(GUEST_CA)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(ca.ca_path).read_bytes())

    def start_daemon(self, *extra: str, health_timeout: float = 30) -> None:
        """``shepherd daemon`` from /src as a Type=notify unit: started once systemd saw
        READY=1."""
        self.host.run("groupadd", "--system", "-f", "shepherd")
        argv = [
            f"{VENV}/bin/python", "-m", "engine.cli", "--socket", API_SOCKET, "daemon",
            "--root", "/", "--service", "systemd", "--ca-bundle", GUEST_CA,
            "--base-url", self.cdn.base_url, "--arch", "amd64",
            "--first-check", "3600", "--poll-interval", "3600",
            "--health-poll", "0.5", "--health-timeout", str(health_timeout), *extra,
        ]  # fmt: skip
        self.host.run(
            "systemd-run", f"--unit={DAEMON_UNIT}", "-p", "Type=notify", "-p", "NotifyAccess=main",
            "-p", "RuntimeDirectory=shepherd",
            *(f"--setenv={k}={v}" for k, v in PYTHON_ENV.items()), *argv,
            timeout=90,
        )  # fmt: skip

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return self.host.run(
            f"{VENV}/bin/python", "-m", "engine.cli", "--socket", API_SOCKET, *args,
            env=PYTHON_ENV, check=False, timeout=timeout,
        )  # fmt: skip

    def cli_json(self, *args: str) -> object:
        result = self.cli(*args, "--json")
        try:
            return json.loads(result.stdout)
        except ValueError as e:
            raise AssertionError(
                f"shepherd {shlex.join(args)} gave no JSON (exit {result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n{self.daemon_log()}"
            ) from e

    def daemon_log(self) -> str:
        return self.host.run(
            "journalctl", "--no-pager", "-u", DAEMON_UNIT, "-n", "80", check=False
        ).stdout
