"""A client of the daemon's local API: the CLI and the tray app use this and nothing else.

    api = ApiClient(Path("/run/shepherd/api.sock"))
    api.get("/v1/agents")
    api.post("/v1/agents/default/update", {"now": True})
    for event in api.events():          # server-sent events, decoded
        ...
    api.close()                         # from any thread: ends requests in flight

HTTP/1.1 over the Unix socket is ``engine.api.wire``'s: the standard library only, so the
tray app loads neither httpx nor ssl (~23 MB resident). Errors:
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
from urllib.parse import urlencode

from engine.about import shepherd_version  # re-exported: the tray shows its own version
from engine.api.errors import ApiError, DaemonDenied, DaemonUnavailable
from engine.api.paths import DEFAULT_SOCKET, agent_path, default_socket
from engine.api.wire import Answer, BrokenAnswer, send_request

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


class ApiClient:
    """Thread-safe: the tray calls it from several threads at once."""

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
        self._check_open()
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        target = f"{path}?{urlencode(params)}" if params else path
        payload = None if body is None else json.dumps(body).encode()
        with self._connected() as sock:
            try:
                answer = send_request(sock, method, target, payload)
                raw = answer.read(_MAX_ANSWER + 1)
            except (OSError, BrokenAnswer) as e:
                raise DaemonUnavailable(f"the Shepherd daemon stopped answering: {e}") from e
        if len(raw) > _MAX_ANSWER:
            raise ApiError(answer.status, "the daemon's answer is too large")
        try:
            data = json.loads(raw) if raw.strip() else None
        except ValueError as e:
            raise ApiError(answer.status, f"the daemon answered something not JSON: {e}") from e
        if answer.status >= 400:
            raise _api_error(answer.status, data)
        return data

    def events(self, on_connected: Callable[[], None] | None = None) -> Iterator[dict[str, Any]]:
        """Decoded server-sent events until the daemon closes the stream.

        ``on_connected`` is called once the daemon has accepted the stream, before the
        first event: a state read then misses no change that follows it."""
        self._check_open()
        with self._connected() as sock:
            try:
                answer = send_request(sock, "GET", "/v1/events", None)
                if answer.status != 200:
                    raise _api_error(answer.status, _json_or_none(answer.read(65536)))
                sock.settimeout(None)  # the daemon sends a heartbeat; quiet is not an error
                if on_connected is not None:
                    on_connected()
                yield from _events(answer)
            except (OSError, BrokenAnswer) as e:
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

    # ---- internals --------------------------------------------------------------------
    def _check_open(self) -> None:
        with self._lock:
            if self._closed:
                raise DaemonUnavailable("this API client has been closed")

    @contextlib.contextmanager
    def _connected(self) -> Iterator[socket.socket]:
        """A socket connected to the daemon, shut down by ``close()`` from any thread."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            with self._lock:
                closed = self._closed
                if not closed:
                    self._live.add(sock)
            if closed:
                raise DaemonUnavailable("this API client has been closed")
            try:
                sock.connect(str(self.socket_path))
            except OSError as e:
                raise self._unreachable(e) from e
            yield sock
        finally:
            with self._lock:
                self._live.discard(sock)
            sock.close()

    def _unreachable(self, cause: OSError) -> DaemonUnavailable:
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
            return DaemonDenied(
                f"permission denied on {path}: ask an admin to add you to the "
                "'shepherd' group (then log in again)"
            )
        return DaemonUnavailable(f"cannot reach the Shepherd daemon at {path}: {cause}")


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _events(answer: Answer) -> Iterator[dict[str, Any]]:
    data_lines: list[str] = []
    for text in answer.lines():
        if text.startswith("data:"):
            data_lines.append(text[5:].strip())
        elif not text and data_lines:
            event = _json_or_none("\n".join(data_lines).encode())
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
