"""A client of the daemon's local API: the CLI and the tray app use this and nothing else.

    api = ApiClient(Path("/run/shepherd/api.sock"))
    api.get("/v1/agents")
    api.post("/v1/agents/default/update", {"now": True})
    for event in api.events():          # server-sent events, decoded
        ...
    api.close()                         # from any thread: ends requests in flight

HTTP over the Unix socket is the standard library's (``http.client``, engine.unixhttp): a
command line that asks one question must not pay httpx's import (issue 17). One connection
per request, as the daemon closes each. Errors: ``DaemonUnavailable`` when nothing answers
on the socket (with what to do about it), ``ApiError`` carrying the HTTP status, the
daemon's message and any details of its error (such as the privilege ``level`` a refused
request needs) otherwise.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from engine.about import shepherd_version  # re-exported: the tray shows its own version
from engine.api.errors import ApiError, DaemonDenied, DaemonUnavailable
from engine.api.paths import DEFAULT_SOCKET, agent_path, default_socket
from engine.unixhttp import UnixHTTPConnection

__all__ = [
    "DEFAULT_SOCKET",
    "ApiClient",
    "ApiError",
    "DaemonDenied",
    "DaemonUnavailable",
    "agent_path",
    "default_socket",
    "shepherd_version",
]

_MAX_ANSWER = 32 * 1024 * 1024
_MAX_EVENT_LINE = 1 << 20
_HOST = "shepherd"  # the Host header; the socket path says where


class ApiClient:
    """Thread-safe: the tray calls it from several threads at once.

    ``timeout`` bounds the connect and each read and write of a request; an event stream
    waits for its next event without one."""

    def __init__(self, socket_path: Path | None = None, *, timeout: float = 900.0) -> None:
        self.socket_path = socket_path or default_socket()
        self.timeout = timeout
        self._lock = threading.Lock()
        self._live: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._closed = False

    def get(self, path: str, query: Mapping[str, object] | None = None) -> Any:
        return self.request("GET", path, query=query)

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self.request("POST", path, body=body or {})

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, object] | None = None,
    ) -> Any:
        connection = self._connect()
        try:
            response = _send(connection, method, path, body, query)
            raw = response.read(_MAX_ANSWER + 1)
        except (OSError, http.client.HTTPException) as e:
            raise DaemonUnavailable(f"the Shepherd daemon stopped answering: {e}") from e
        finally:
            connection.close()
        if len(raw) > _MAX_ANSWER:
            raise ApiError(response.status, "the daemon's answer is too large")
        try:
            data = json.loads(raw) if raw.strip() else None
        except ValueError as e:
            raise ApiError(response.status, f"the daemon answered something not JSON: {e}") from e
        if response.status >= 400:
            raise _api_error(response.status, data)
        return data

    def events(self, on_connected: Callable[[], None] | None = None) -> Iterator[dict[str, Any]]:
        """Decoded server-sent events until the daemon closes the stream.

        ``on_connected`` is called once the daemon has accepted the stream, before the
        first event: a state read then misses no change that follows it."""
        connection = self._connect()
        try:
            response = _send(connection, "GET", "/v1/events", None, None)
            if response.status != 200:
                raw = response.read(65536)
                try:
                    data = json.loads(raw)
                except ValueError:
                    data = None
                raise _api_error(response.status, data)
            if connection.opened_socket is not None:
                connection.opened_socket.settimeout(None)  # events come when they come
            if on_connected is not None:
                on_connected()
            yield from _decoded_events(response)
        except (OSError, http.client.HTTPException) as e:
            raise DaemonUnavailable(f"the event stream from the daemon broke: {e}") from e
        finally:
            connection.close()

    def close(self) -> None:
        """Refuse new requests and end those in flight (they raise DaemonUnavailable).
        Safe from any thread, and to call twice."""
        with self._lock:
            self._closed = True
            live = list(self._live)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # ---- internals --------------------------------------------------------------------
    def _connect(self) -> UnixHTTPConnection:
        with self._lock:
            if self._closed:
                raise DaemonUnavailable("this API client has been closed")
        connection = UnixHTTPConnection(
            self.socket_path, self.timeout, host=_HOST, on_open=self._opened
        )
        try:
            connection.connect()
        except OSError as e:
            raise self._unreachable(e) from e
        return connection

    def _opened(self, sock: socket.socket) -> None:
        with self._lock:
            closed = self._closed
            if not closed:
                self._live.add(sock)
        if closed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _unreachable(self, error: OSError) -> DaemonUnavailable:
        path = self.socket_path
        start = "start it with 'systemctl start shepherd' or 'shepherd daemon'"
        if isinstance(error, FileNotFoundError):
            return DaemonUnavailable(
                f"the Shepherd daemon is not running (no socket at {path}); {start}"
            )
        if isinstance(error, ConnectionRefusedError):
            return DaemonUnavailable(
                f"the Shepherd daemon is not running (nothing listens on {path}); {start}"
            )
        if isinstance(error, PermissionError):
            return DaemonDenied(
                f"permission denied on {path}: ask an admin to add you to the "
                "'shepherd' group (then log in again)"
            )
        return DaemonUnavailable(f"cannot reach the Shepherd daemon at {path}: {error}")


def _send(
    connection: UnixHTTPConnection,
    method: str,
    path: str,
    body: Mapping[str, Any] | None,
    query: Mapping[str, object] | None,
) -> http.client.HTTPResponse:
    params = {k: str(v) for k, v in (query or {}).items() if v is not None}
    target = f"{path}?{urlencode(params)}" if params else path
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    connection.request(method, target, body=payload, headers=headers)
    return connection.getresponse()


def _decoded_events(response: http.client.HTTPResponse) -> Iterator[dict[str, Any]]:
    data_lines: list[str] = []
    while True:
        line = response.readline(_MAX_EVENT_LINE)
        if not line:
            return
        text = line.decode("utf-8", errors="replace").rstrip("\r\n")
        if text.startswith("data:"):
            data_lines.append(text[5:].strip())
        elif not text and data_lines:
            try:
                event = json.loads("\n".join(data_lines))
            except ValueError:
                event = None
            data_lines = []
            if isinstance(event, dict):
                yield event


def _api_error(status: int, data: Any) -> ApiError:
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        message = error.get("message") or f"HTTP {status}"
        details = {k: v for k, v in error.items() if k not in ("status", "message")}
        return ApiError(status, str(message), details)
    if isinstance(data, dict) and isinstance(data.get("message"), str) and data["message"]:
        return ApiError(status, data["message"], {"answer": data})  # e.g. a refused rollback
    return ApiError(status, f"HTTP {status}")
