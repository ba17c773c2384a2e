"""HTTP over a Unix socket with httpx: the daemon's API, an agent's debug socket.

httpx speaks HTTP over a Unix socket (``httpx.HTTPTransport(uds=...)``). This module only
gives that transport's connection pool a socket backend of its own, which closes a socket
whose ``connect()`` failed (httpcore's backend leaves it to the garbage collector, a
``ResourceWarning``).

    with httpx.Client(transport=unix_transport(path), timeout=2) as client:
        client.get("http://agent/readyz")
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpcore
import httpx

__all__ = ["unix_transport"]

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


def unix_transport(path: Path) -> httpx.HTTPTransport:
    """A transport to the HTTP server on the Unix socket ``path``; one connection per
    request (nothing kept alive)."""
    transport = httpx.HTTPTransport(
        uds=str(path),
        verify=False,  # no TLS on a Unix socket, and loading the CAs costs ~45 ms
        limits=httpx.Limits(max_keepalive_connections=0),
    )
    # the pool httpx would build, with our backend (httpcore's public NetworkBackend API)
    transport._pool = httpcore.ConnectionPool(
        uds=str(path), max_keepalive_connections=0, network_backend=_UnixBackend()
    )
    return transport


class _UnixBackend(httpcore.NetworkBackend):
    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(path)
        except TimeoutError as e:
            sock.close()
            raise httpcore.ConnectTimeout(e) from e
        except OSError as e:
            sock.close()
            raise httpcore.ConnectError(e) from e
        return _UnixStream(sock)

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("this transport only speaks to a Unix socket")

    def sleep(self, seconds: float) -> None:  # pragma: no cover - only for retries
        httpcore.SyncBackend().sleep(seconds)


class _UnixStream(httpcore.NetworkStream):
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            self._sock.settimeout(timeout)
            return self._sock.recv(max_bytes)
        except TimeoutError as e:
            raise httpcore.ReadTimeout(e) from e
        except OSError as e:
            raise httpcore.ReadError(e) from e

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            self._sock.settimeout(timeout)
            self._sock.sendall(buffer)
        except TimeoutError as e:
            raise httpcore.WriteTimeout(e) from e
        except OSError as e:
            raise httpcore.WriteError(e) from e

    def close(self) -> None:
        self._sock.close()

    def get_extra_info(self, info: str) -> Any:
        return self._sock if info == "socket" else None
