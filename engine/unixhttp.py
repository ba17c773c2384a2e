"""HTTP over a Unix socket with the standard library: an agent's debug socket (``/readyz``).

``http.client`` speaks the HTTP; this module only gives it a Unix socket for a transport,
and closes a socket whose ``connect()`` failed (instead of leaving it to the garbage
collector, a ``ResourceWarning``). The standard library and not httpx: an httpx client
costs the daemon ~1 ms to build for each ``/readyz`` probe (issue 17). The daemon's own API
client is ``engine.api.wire``'s, lighter still (no ``http.client``, no ``ssl``).

    connection = UnixHTTPConnection(path, timeout=2)
    connection.request("GET", "/readyz")
    body = connection.getresponse().read(65536)
    connection.close()
"""

from __future__ import annotations

import http.client
import socket
from pathlib import Path

__all__ = ["UnixHTTPConnection"]


class UnixHTTPConnection(http.client.HTTPConnection):
    """``http.client.HTTPConnection`` whose transport is the Unix socket at ``path``; ``host``
    is only what the ``Host`` header says."""

    def __init__(self, path: Path, timeout: float | None, *, host: str = "localhost") -> None:
        super().__init__(host, timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(str(self.path))
        except OSError:
            sock.close()
            raise
        self.sock = sock
