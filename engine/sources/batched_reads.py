"""Reading a TLS connection in batches: every record already received, in one read.

    use_batched_reads(client)     # on an httpx.Client from make_client; returns how many
                                  # of its transports now read in batches

A TLS socket hands back one record (16 KiB) per ``recv``, and httpx passes each record on
its own through httpcore, h11 and its stream layers in Python, setting the socket's timeout
(a system call) before each. ``BatchedReads`` is an httpcore network backend whose TLS
streams turn non-blocking once and, per read, take every record the kernel already holds,
up to ``batch_bytes``, waiting (``poll``, bounded by the read timeout) only when none has
arrived: a fast download then crosses those Python layers once per 256 KiB instead of once
per 16 KiB. Nothing else changes: the same sockets, TLS context, proxy tunnel, read
timeouts and errors (httpcore's ReadTimeout and ReadError). Plain TCP streams and TLS
inside an https proxy's TLS are left to httpcore.
"""

from __future__ import annotations

import select
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

__all__ = ["BATCH_BYTES", "BatchedReads", "use_batched_reads"]

BATCH_BYTES = 256 << 10  # 16 TLS records; 1 MiB measured no faster and holds more memory


class BatchedReads(httpcore.NetworkBackend):
    """httpcore's synchronous backend, with streams that read in batches."""

    def __init__(self, inner: httpcore.NetworkBackend, batch_bytes: int = BATCH_BYTES) -> None:
        self._inner = inner
        self._batch_bytes = batch_bytes

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _BatchedStream(stream, self._batch_bytes)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, timeout, socket_options)
        return _BatchedStream(stream, self._batch_bytes)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _BatchedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, batch_bytes: int) -> None:
        self._inner = inner
        self._batch_bytes = batch_bytes
        sock = inner.get_extra_info("socket")
        # a TLS-in-TLS stream (an https proxy) reports its outer plain socket: not batched
        tls = isinstance(sock, ssl.SSLSocket) and inner.get_extra_info("ssl_object") is not None
        self._tls_socket: ssl.SSLSocket | None = sock if tls else None
        self._nonblocking = False

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        sock = self._tls_socket
        if sock is None:
            return self._inner.read(max_bytes, timeout)
        limit = max(max_bytes, self._batch_bytes)
        try:
            if not self._nonblocking:
                sock.setblocking(False)  # once, not per read: each toggle is a system call
                self._nonblocking = True
            parts: list[bytes] = []
            received = 0
            while received < limit:
                try:
                    more = sock.recv(limit - received)
                except ssl.SSLWantReadError:
                    if parts:
                        break  # what has arrived so far
                    _wait(sock, select.POLLIN, timeout)
                    continue
                except ssl.SSLWantWriteError:
                    _wait(sock, select.POLLOUT, timeout)
                    continue
                if not more:
                    break  # the server closed the connection
                parts.append(more)
                received += len(more)
            return parts[0] if len(parts) == 1 else b"".join(parts)
        except TimeoutError as e:
            raise httpcore.ReadTimeout(e) from e
        except OSError as e:
            raise httpcore.ReadError(e) from e

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._nonblocking = False  # httpcore's write sets the socket's timeout again
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _BatchedStream(stream, self._batch_bytes)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def use_batched_reads(client: httpx.Client, batch_bytes: int = BATCH_BYTES) -> int:
    """Make ``client``'s HTTP transports (direct and proxied) read in batches; return how
    many do. httpx has no public hook for httpcore's network backend, so this sets the one
    attribute its connection pools read it from; on an httpx without it nothing changes
    (tests/integration/test_download_batched.py notices)."""
    transports = [client._transport, *client._mounts.values()]
    batched = 0
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        inner = getattr(pool, "_network_backend", None)
        if isinstance(inner, httpcore.NetworkBackend) and not isinstance(inner, BatchedReads):
            pool._network_backend = BatchedReads(inner, batch_bytes)  # type: ignore[union-attr]
            batched += 1
    return batched


def _wait(sock: ssl.SSLSocket, event: int, timeout: float | None) -> None:
    """Wait until ``sock`` is ready for ``event``; TimeoutError after ``timeout`` s."""
    poller = select.poll()
    poller.register(sock, event)
    if not poller.poll(None if timeout is None else timeout * 1000):
        raise TimeoutError(f"no data within {timeout} s")
