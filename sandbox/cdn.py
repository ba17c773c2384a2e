"""A real nginx over TLS serving an artifact directory: the sandbox CDN or a private mirror.

    with Cdn(root, cert_pair, auth=BearerToken("t0ken"), rate_limit="1m") as cdn:
        cdn.base_url                 # https://127.0.0.1:PORT
        cdn.access_log_lines()       # '<request> <status> <bytes> "<range header>"' per request

nginx serves static files with ETag and HTTP Range (206) by itself. Runs unprivileged when
started by a normal user; everything it writes lives in its work dir.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sandbox.certs import CertPair
from sandbox.ports import free_port, wait_for_port

__all__ = ["BasicAuth", "BearerToken", "Cdn"]

NGINX = "/usr/sbin/nginx"


@dataclass(frozen=True)
class BasicAuth:
    user: str
    password: str


@dataclass(frozen=True)
class BearerToken:
    token: str


def _ssha(password: str) -> str:
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 - nginx {SSHA} format
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as stream:
        stream.write(text)


class Cdn:
    def __init__(
        self,
        root: Path,
        cert: CertPair,
        *,
        workdir: Path | None = None,
        auth: BasicAuth | BearerToken | None = None,
        rate_limit: str | None = None,
    ) -> None:
        self.root = root
        self.cert = cert
        self.workdir = workdir or root.parent / f".nginx-{root.name}"
        self.auth = auth
        self.rate_limit = rate_limit
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def _config(self) -> str:
        work = self.workdir
        location: list[str] = []
        if self.rate_limit:
            location.append(f"limit_rate {self.rate_limit};")
        if isinstance(self.auth, BasicAuth):
            _write_private(work / "htpasswd", f"{self.auth.user}:{_ssha(self.auth.password)}\n")
            location += ['auth_basic "mirror";', f"auth_basic_user_file {work / 'htpasswd'};"]
        elif isinstance(self.auth, BearerToken):
            location.append(
                f'if ($http_authorization != "Bearer {self.auth.token}") {{ return 401; }}'
            )
        user = "user root root;\n" if os.geteuid() == 0 else ""
        temp = "\n".join(
            f"  {kind}_temp_path {work / 'tmp' / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        return f"""{user}worker_processes 1;
pid {work / "nginx.pid"};
error_log {work / "error.log"} warn;
daemon off;
events {{ worker_connections 256; }}
http {{
{temp}
  log_format shepherd '$request $status $bytes_sent "$http_range"';
  access_log {self.access_log} shepherd;
  types {{ application/gzip gz; text/plain sha256; }}
  default_type application/octet-stream;
  sendfile on;
  server {{
    listen 127.0.0.1:{self.port} ssl;
    ssl_certificate {self.cert.cert_path};
    ssl_certificate_key {self.cert.key_path};
    root {self.root};
    location / {{
      {" ".join(location)}
    }}
  }}
}}
"""

    def start(self) -> Cdn:
        (self.workdir / "tmp").mkdir(parents=True, exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = self.workdir / "nginx.conf"
        _write_private(config, self._config())
        self._process = subprocess.Popen(
            [NGINX, "-c", str(config), "-p", str(self.workdir), "-e", str(self.workdir / "e.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={"PATH": "/usr/sbin:/usr/bin:/bin"},
        )
        try:
            wait_for_port("127.0.0.1", self.port)
        except TimeoutError as e:
            errors = self._stop_and_collect()
            raise RuntimeError(f"nginx did not start: {errors}") from e
        return self

    def _stop_and_collect(self) -> str:
        process, self._process = self._process, None
        if process is None:
            return ""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        if process.stderr:
            process.stderr.close()
        return stderr

    def stop(self) -> None:
        self._stop_and_collect()

    def access_log_lines(self) -> list[str]:
        if not self.access_log.exists():
            return []
        return self.access_log.read_text(errors="replace").splitlines()

    def __enter__(self) -> Cdn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
