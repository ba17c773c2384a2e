"""A client of the daemon's local API: the CLI and the tray app use this and nothing else.

    api = ApiClient(Path("/run/shepherd/api.sock"))
    api.get("/v1/agents")
    api.post("/v1/agents/default/update", {"now": True})
    for event in api.events():          # server-sent events, decoded
        ...

Errors: ``DaemonUnavailable`` when nothing answers on the socket (with what to do about
it), ``ApiError`` carrying the HTTP status and the daemon's message otherwise.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from engine.errors import ShepherdError
from engine.names import validate_namespace
from engine.unixhttp import UnixHTTPConnection

__all__ = ["DEFAULT_SOCKET", "ApiClient", "ApiError", "DaemonUnavailable", "default_socket"]

DEFAULT_SOCKET = Path("/run/shepherd/api.sock")
_MAX_ANSWER = 32 * 1024 * 1024


def default_socket() -> Path:
    return Path(os.environ.get("SHEPHERD_SOCKET") or DEFAULT_SOCKET)


class DaemonUnavailable(ShepherdError):
    """Nothing answers on the API socket."""


class ApiError(ShepherdError):
    """The daemon refused: its HTTP status, its message, and any further fields of its
    error answer (``details``)."""

    def __init__(self, status: int, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    @property
    def errors(self) -> list[dict[str, Any]]:
        """For a refused settings change: each refused key as ``{key, label, value,
        reason}``; empty for any other error."""
        errors = self.details.get("errors")
        if not isinstance(errors, list):
            return []
        return [e for e in errors if isinstance(e, dict) and isinstance(e.get("key"), str)]


def agent_path(agent: str, *rest: str) -> str:
    """``/v1/agents/<agent>/...``; raises InvalidInput naming a malformed agent name."""
    return "/".join(["/v1/agents", quote(validate_namespace(agent), safe=""), *rest])


class ApiClient:
    def __init__(self, socket_path: Path | None = None, *, timeout: float = 900.0) -> None:
        self.socket_path = socket_path or default_socket()
        self.timeout = timeout

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
            response = self._send(connection, method, path, body, query)
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
            error = data.get("error") if isinstance(data, dict) else None
            error = error if isinstance(error, dict) else {}
            message = error.get("message") or f"HTTP {response.status}"
            details = {k: v for k, v in error.items() if k not in ("status", "message")}
            raise ApiError(response.status, str(message), details)
        return data

    def events(self) -> Iterator[dict[str, Any]]:
        """Decoded server-sent events until the daemon closes the stream."""
        connection = self._connect(timeout=None)
        try:
            response = self._send(connection, "GET", "/v1/events", None, None)
            if response.status != 200:
                raise ApiError(response.status, response.read(4096).decode(errors="replace"))
            data: list[str] = []
            while True:
                line = response.readline(1 << 20)
                if not line:
                    return
                text = line.decode("utf-8", errors="replace").rstrip("\r\n")
                if text.startswith("data:"):
                    data.append(text[5:].strip())
                elif not text and data:
                    try:
                        event = json.loads("\n".join(data))
                    except ValueError:
                        event = None
                    data = []
                    if isinstance(event, dict):
                        yield event
        except (OSError, http.client.HTTPException) as e:
            raise DaemonUnavailable(f"the event stream from the daemon broke: {e}") from e
        finally:
            connection.close()

    # ---- internals --------------------------------------------------------------------
    def _connect(self, timeout: float | None = -1.0) -> UnixHTTPConnection:
        connection = UnixHTTPConnection(
            self.socket_path, self.timeout if timeout == -1.0 else timeout
        )
        try:
            connection.connect()
        except FileNotFoundError as e:
            raise DaemonUnavailable(
                f"the Shepherd daemon is not running (no socket at {self.socket_path}); "
                "start it with 'systemctl start shepherd' or 'shepherd daemon'"
            ) from e
        except ConnectionRefusedError as e:
            raise DaemonUnavailable(
                f"the Shepherd daemon is not running (nothing listens on {self.socket_path}); "
                "start it with 'systemctl start shepherd' or 'shepherd daemon'"
            ) from e
        except PermissionError as e:
            raise DaemonUnavailable(
                f"permission denied on {self.socket_path}: ask an admin to add you to the "
                "'shepherd' group (then log in again)"
            ) from e
        except OSError as e:
            raise DaemonUnavailable(
                f"cannot reach the Shepherd daemon at {self.socket_path}: {e}"
            ) from e
        return connection

    @staticmethod
    def _send(
        connection: UnixHTTPConnection,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        query: Mapping[str, object] | None,
    ) -> http.client.HTTPResponse:
        target = path
        if query:
            target += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, target, body=payload, headers=headers)
        return connection.getresponse()
