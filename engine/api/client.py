"""A client of the daemon's local API: the CLI and the tray app use this and nothing else.

    api = ApiClient(Path("/run/shepherd/api.sock"))
    api.get("/v1/agents")
    api.post("/v1/agents/default/update", {"now": True})
    for event in api.events():          # server-sent events, decoded
        ...
    api.close()                         # from any thread: ends requests in flight

HTTP over the Unix socket is httpx's (``httpx.HTTPTransport(uds=...)``, engine.unixhttp). Errors:
``DaemonUnavailable`` when nothing answers on the socket (with what to do about it),
``ApiError`` carrying the HTTP status, the daemon's message and any details of its error
(such as the privilege ``level`` a refused request needs) otherwise.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from engine.api.errors import ApiError, DaemonUnavailable
from engine.api.paths import DEFAULT_SOCKET, agent_path, default_socket
from engine.unixhttp import unix_transport

__all__ = [
    "DEFAULT_SOCKET",
    "ApiClient",
    "ApiError",
    "DaemonUnavailable",
    "agent_path",
    "default_socket",
]

_MAX_ANSWER = 32 * 1024 * 1024
_BASE_URL = "http://shepherd"  # the Host header; the socket path says where


class ApiClient:
    """Thread-safe: the tray calls it from several threads at once."""

    def __init__(self, socket_path: Path | None = None, *, timeout: float = 900.0) -> None:
        self.socket_path = socket_path or default_socket()
        self.timeout = timeout
        self._lock = threading.Lock()
        self._live: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._closed = False
        transport = unix_transport(self.socket_path, on_open=self._opened)
        self._http = httpx.Client(transport=transport, base_url=_BASE_URL, timeout=timeout)

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
        self._check_open()
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        try:
            with self._http.stream(method, path, params=params, json=body) as response:
                raw = _read_at_most(response, _MAX_ANSWER + 1)
        except httpx.ConnectError as e:
            raise self._unreachable(e) from e
        except httpx.HTTPError as e:
            raise DaemonUnavailable(f"the Shepherd daemon stopped answering: {e}") from e
        if len(raw) > _MAX_ANSWER:
            raise ApiError(response.status_code, "the daemon's answer is too large")
        try:
            data = json.loads(raw) if raw.strip() else None
        except ValueError as e:
            raise ApiError(
                response.status_code, f"the daemon answered something not JSON: {e}"
            ) from e
        if response.status_code >= 400:
            raise _api_error(response.status_code, data)
        return data

    def events(self, on_connected: Callable[[], None] | None = None) -> Iterator[dict[str, Any]]:
        """Decoded server-sent events until the daemon closes the stream.

        ``on_connected`` is called once the daemon has accepted the stream, before the
        first event: a state read then misses no change that follows it."""
        self._check_open()
        timeout = httpx.Timeout(self.timeout, read=None)
        try:
            with self._http.stream("GET", "/v1/events", timeout=timeout) as response:
                if response.status_code != 200:
                    raw = _read_at_most(response, 65536)
                    try:
                        data = json.loads(raw)
                    except ValueError:
                        data = None
                    raise _api_error(response.status_code, data)
                if on_connected is not None:
                    on_connected()
                data_lines: list[str] = []
                for text in response.iter_lines():
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
        except httpx.ConnectError as e:
            raise self._unreachable(e) from e
        except httpx.HTTPError as e:
            raise DaemonUnavailable(f"the event stream from the daemon broke: {e}") from e

    def close(self) -> None:
        """Refuse new requests and end those in flight (they raise DaemonUnavailable).
        Safe from any thread, and to call twice."""
        with self._lock:
            self._closed = True
            live = list(self._live)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._http.close()

    # ---- internals --------------------------------------------------------------------
    def _check_open(self) -> None:
        with self._lock:
            if self._closed:
                raise DaemonUnavailable("this API client has been closed")

    def _opened(self, sock: socket.socket) -> None:
        with self._lock:
            closed = self._closed
            if not closed:
                self._live.add(sock)
        if closed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _unreachable(self, error: httpx.ConnectError) -> DaemonUnavailable:
        cause: BaseException | None = error
        while cause is not None and not isinstance(cause, OSError):
            cause = cause.__cause__ or cause.__context__
        path = self.socket_path
        start = "start it with 'systemctl start shepherd' or 'shepherd daemon'"
        if isinstance(cause, FileNotFoundError):
            return DaemonUnavailable(
                f"the Shepherd daemon is not running (no socket at {path}); {start}"
            )
        if isinstance(cause, ConnectionRefusedError):
            return DaemonUnavailable(
                f"the Shepherd daemon is not running (nothing listens on {path}); {start}"
            )
        if isinstance(cause, PermissionError):
            return DaemonUnavailable(
                f"permission denied on {path}: ask an admin to add you to the "
                "'shepherd' group (then log in again)"
            )
        return DaemonUnavailable(f"cannot reach the Shepherd daemon at {path}: {cause or error}")


def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    raw = bytearray()
    for chunk in response.iter_raw():
        raw += chunk
        if len(raw) >= limit:
            break
    return bytes(raw)


def _api_error(status: int, data: Any) -> ApiError:
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        message = error.get("message") or f"HTTP {status}"
        details = {k: v for k, v in error.items() if k not in ("status", "message")}
        return ApiError(status, str(message), details)
    if isinstance(data, dict) and isinstance(data.get("message"), str) and data["message"]:
        return ApiError(status, data["message"], {"answer": data})  # e.g. a refused rollback
    return ApiError(status, f"HTTP {status}")
