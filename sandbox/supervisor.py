"""A real supervisord in a work dir, controlled over its unix socket with supervisorctl.

    with Supervisor(workdir) as sup:
        sup.add_program("teleport", ["/usr/local/bin/teleport", "start", ...])
        sup.ctl("status", "teleport")

This is the service manager of the sandbox and of hosts without systemd.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from shlex import quote

from sandbox.ports import wait_until

__all__ = ["Supervisor"]

SUPERVISORD = "/usr/bin/supervisord"
SUPERVISORCTL = "/usr/bin/supervisorctl"


class Supervisor:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.workdir / "supervisord.conf"

    @property
    def socket_path(self) -> Path:
        return self.workdir / "supervisor.sock"

    def start(self) -> Supervisor:
        (self.workdir / "programs").mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        self.config_path.write_text(
            f"""[unix_http_server]
file={self.socket_path}
chmod=0700

[supervisord]
logfile={self.workdir / "supervisord.log"}
pidfile={self.workdir / "supervisord.pid"}
childlogdir={self.workdir / "logs"}
nodaemon=true
user=root

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{self.socket_path}

[include]
files = {self.workdir / "programs"}/*.conf
"""
        )
        self._process = subprocess.Popen(
            [SUPERVISORD, "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/sbin:/usr/bin:/bin"},
        )
        try:
            wait_until(
                lambda: self.ctl("pid", check=False).returncode == 0, 20, "supervisord to answer"
            )
        except TimeoutError:
            self.stop()
            raise
        return self

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [SUPERVISORCTL, "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            check=False,
            env={"PATH": "/usr/sbin:/usr/bin:/bin"},
            timeout=60,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"supervisorctl {' '.join(args)} failed ({result.returncode}): "
                f"{result.stdout.strip()} {result.stderr.strip()}"
            )
        return result

    def add_program(
        self,
        name: str,
        command: Sequence[str],
        *,
        autostart: bool = True,
        autorestart: str = "true",
        environment: Mapping[str, str] | None = None,
        stopsignal: str = "TERM",
    ) -> None:
        env = ",".join(f'{k}="{v}"' for k, v in (environment or {}).items())
        lines = [
            f"[program:{name}]",
            f"command={' '.join(quote(part) for part in command)}",
            f"autostart={'true' if autostart else 'false'}",
            f"autorestart={autorestart}",
            "startsecs=0",
            "startretries=1000",
            f"stopsignal={stopsignal}",
            "stopwaitsecs=10",
            # like systemd's KillMode=control-group: nothing of the agent outlives a stop
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={self.workdir / 'logs' / (name + '.log')}",
        ]
        if env:
            lines.append(f"environment={env}")
        (self.workdir / "programs" / f"{name}.conf").write_text("\n".join(lines) + "\n")
        self.ctl("reread")
        self.ctl("update", name)

    def state(self, name: str) -> str:
        result = self.ctl("status", name, check=False)
        parts = result.stdout.split()
        return parts[1] if len(parts) > 1 else "UNKNOWN"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
