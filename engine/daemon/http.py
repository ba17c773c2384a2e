"""A small, strict HTTP/1.1 server for the local API (asyncio, Unix socket).

One request per connection (``Connection: close``), bounded everywhere: the request head
(16 KiB), the body (256 KiB), the time a client may take to send them (10 s), and the
number of connections served at once. A client that breaks a bound gets a 4xx answer and
is dropped; the others are served on.

Peer credentials (``SO_PEERCRED``) are read from the socket before anything else and
handed to the application with the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "HttpError",
    "Limits",
    "PeerCred",
    "Request",
    "Response",
    "StreamResponse",
    "serve_connection",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    max_head_bytes: int = 16 * 1024
    max_body_bytes: int = 256 * 1024
    read_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class PeerCred:
    pid: int
    uid: int
    gid: int


class HttpError(Exception):
    """An answer with a 4xx/5xx status and a message for the client; ``details`` go into
    the error object beside them (e.g. ``errors``: the refused settings, each by key)."""

    def __init__(self, status: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    peer: PeerCred

    def json(self) -> dict[str, Any]:
        """The body as a JSON object ({} when empty); 400 naming the problem otherwise."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as e:
            raise HttpError(400, f"the request body is not valid JSON: {e}") from e
        if not isinstance(data, dict):
            raise HttpError(400, "the request body must be a JSON object")
        return data


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        return cls(status, (json.dumps(data, indent=2) + "\n").encode())


@dataclass(frozen=True)
class StreamResponse:
    """A long-lived answer (server-sent events): chunks are written as they come."""

    chunks: AsyncIterator[bytes]
    content_type: str = "text/event-stream"


Handler = Callable[[Request], Awaitable[Response | StreamResponse]]


def peer_credentials(writer: asyncio.StreamWriter) -> PeerCred:
    sock: socket.socket = writer.get_extra_info("socket")
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return PeerCred(pid, uid, gid)


async def serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    handler: Handler,
    limits: Limits,
) -> None:
    """Read one request, answer it, close. Never raises."""
    try:
        peer = peer_credentials(writer)
        try:
            request = await asyncio.wait_for(
                _read_request(reader, peer, limits), limits.read_timeout_seconds
            )
        except TimeoutError:
            await _write(writer, _error(408, "the request took too long to arrive"))
            return
        except HttpError as e:
            await _write(writer, _error(e.status, e.message))
            return
        try:
            answer = await handler(request)
        except HttpError as e:
            answer = _error(e.status, e.message, e.details)
        except Exception:
            _log.exception("internal error answering %s %s", request.method, request.path)
            answer = _error(500, "internal error in the Shepherd daemon (see its log)")
        if isinstance(answer, StreamResponse):
            await _stream(writer, answer)
        else:
            await _write(writer, answer)
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader, peer: PeerCred, limits: Limits) -> Request:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as e:
        raise HttpError(431, "the request head is too large") from e
    except asyncio.IncompleteReadError as e:
        raise HttpError(400, "the connection closed before a full request arrived") from e
    if len(head) > limits.max_head_bytes:
        raise HttpError(431, "the request head is too large")
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError as e:
        raise HttpError(400, "the request head is not ASCII") from e
    request_line, *header_lines = text[:-4].split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, f"malformed request line {request_line[:100]!r}")
    method, target, _ = parts
    headers: dict[str, str] = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400, f"malformed header line {line[:100]!r}")
        key = name.lower()
        if key in headers and key in ("content-length", "host", "transfer-encoding"):
            raise HttpError(400, f"the {name} header appears more than once")
        headers[key] = value.strip()
    if "transfer-encoding" in headers:
        raise HttpError(411, "chunked request bodies are not accepted; send Content-Length")
    length_text = headers.get("content-length", "0")
    if not length_text.isdigit():
        raise HttpError(400, f"invalid Content-Length {length_text[:40]!r}")
    length = int(length_text)
    if length > limits.max_body_bytes:
        raise HttpError(413, f"the request body is larger than {limits.max_body_bytes} bytes")
    body = await reader.readexactly(length) if length else b""
    path, query = _split_target(target)
    return Request(method.upper(), path, query, headers, body, peer)


def _split_target(target: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        raise HttpError(400, f"invalid request target {target[:100]!r}")
    path = unquote(parts.path)
    if "\x00" in path or "/../" in f"{path}/" or "/./" in f"{path}/" or "//" in path:
        raise HttpError(400, f"invalid request path {target[:100]!r}")
    return path, dict(parse_qsl(parts.query, keep_blank_values=True))


def _error(status: int, message: str, details: dict[str, Any] | None = None) -> Response:
    return Response.json(
        {"error": {"status": status, "message": message, **(details or {})}}, status
    )


def _head(status: int, content_type: str, extra: dict[str, str], length: int | None) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Status"
    lines = [f"HTTP/1.1 {status} {phrase}", f"Content-Type: {content_type}", "Connection: close"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _write(writer: asyncio.StreamWriter, response: Response) -> None:
    writer.write(
        _head(response.status, response.content_type, response.headers, len(response.body))
    )
    writer.write(response.body)
    await writer.drain()


async def _stream(writer: asyncio.StreamWriter, response: StreamResponse) -> None:
    writer.write(_head(200, response.content_type, {"Cache-Control": "no-store"}, None))
    await writer.drain()
    try:
        async for chunk in response.chunks:
            writer.write(chunk)
            await writer.drain()
    finally:
        close = getattr(response.chunks, "aclose", None)
        if close is not None:
            await close()
