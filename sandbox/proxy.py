"""A real forward HTTP proxy (Debian's tinyproxy) for the sandbox, optionally with basic auth.

with TinyProxy(workdir, auth=("alice", "s3cret")) as proxy:
    proxy.url                 # "http://127.0.0.1:PORT"
    proxy.log_text()          # tinyproxy's log, to check a request went through it
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from sandbox.ports import free_port, wait_for_port, wait_until

__all__ = ["TinyProxy"]


class TinyProxy:
    def __init__(self, workdir: Path, *, auth: tuple[str, str] | None = None) -> None:
        self.workdir = workdir
        self.auth = auth
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "tinyproxy.log"

    def start(self) -> TinyProxy:
        binary = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        lines = [
            f"Port {self.port}",
            "Listen 127.0.0.1",
            "Timeout 30",
            f'LogFile "{self.log_path}"',
            "LogLevel Connect",
            "MaxClients 50",
            "Allow 127.0.0.1",
        ]
        if self.auth is not None:
            lines.append(f"BasicAuth {self.auth[0]} {self.auth[1]}")
        config = self.workdir / "tinyproxy.conf"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as stream:
            stream.write("\n".join(lines) + "\n")
        self._process = subprocess.Popen(
            [binary, "-d", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin"},
        )
        try:
            wait_for_port("127.0.0.1", self.port)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, needle: str, timeout: float = 10.0) -> None:
        wait_until(lambda: needle in self.log_text(), timeout, f"{needle!r} in the proxy log")

    def __enter__(self) -> TinyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
