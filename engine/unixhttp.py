"""HTTP over a Unix socket with the standard library (the agent's debug socket, our API)."""

from __future__ import annotations

import http.client
import socket
from pathlib import Path

__all__ = ["UnixHTTPConnection"]


class UnixHTTPConnection(http.client.HTTPConnection):
    """``http.client.HTTPConnection`` whose transport is the Unix socket at ``path``."""

    def __init__(self, path: Path, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(str(self._path))
        except OSError:
            sock.close()
            raise
        self.sock = sock
