"""HTTP over a Unix socket with the standard library: the daemon's API, an agent's debug socket.

``http.client`` speaks the HTTP; this module only gives it a Unix socket for a transport,
which

- closes a socket whose ``connect()`` failed (instead of leaving it to the garbage
  collector, a ``ResourceWarning``), and
- reports every socket it opens to ``on_open``, so that a client can shut its requests in
  flight down from another thread.

The standard library and not httpx: a ``shepherd status`` pays ~25 ms to import
``http.client`` and ~90 ms to import httpx, and an httpx client costs the daemon ~1 ms to
build for each ``/readyz`` probe (issue 17).

    connection = UnixHTTPConnection(path, timeout=2)
    connection.request("GET", "/readyz")
    body = connection.getresponse().read(65536)
    connection.close()
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable
from pathlib import Path

__all__ = ["UnixHTTPConnection"]


class UnixHTTPConnection(http.client.HTTPConnection):
    """``http.client.HTTPConnection`` whose transport is the Unix socket at ``path``; ``host``
    is only what the ``Host`` header says.

    ``opened_socket`` stays the socket ``connect()`` opened: http.client drops ``sock`` as
    soon as an answer that closes the connection is under way, while the answer keeps
    reading from it."""

    def __init__(
        self,
        path: Path,
        timeout: float | None,
        *,
        host: str = "localhost",
        on_open: Callable[[socket.socket], None] | None = None,
    ) -> None:
        super().__init__(host, timeout=timeout)
        self.path = path
        self._on_open = on_open
        self.opened_socket: socket.socket | None = None

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(str(self.path))
        except OSError:
            sock.close()
            raise
        self.sock = self.opened_socket = sock
        if self._on_open is not None:
            self._on_open(sock)
