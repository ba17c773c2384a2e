"""The local API's HTTP/1.1 server (asyncio, Unix socket), framed by h11.

One request per connection (``Connection: close``), bounded everywhere: the request head
(16 KiB) and body (256 KiB), the time a client may take to send its head (5 s) and the
whole request (10 s), the time a write may wait for a client that does not read, and how
many connections, requests being answered and event streams each peer uid may hold
(``Admission``). Nothing queues: a connection that cannot be served at once gets 503 at
once. Root (and the daemon's own uid) is never held to the per-uid limits and has request
slots of its own, so no other user can starve it. Event streams hold a stream slot, never
a request slot.

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
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import h11

from engine.daemon.limits import Admission, Limits

__all__ = [
    "Admission",
    "HttpError",
    "Limits",
    "PeerCred",
    "Request",
    "Response",
    "StreamResponse",
    "serve_connection",
]

_log = logging.getLogger(__name__)

_READ_CHUNK = 4096  # small reads: h11 then sees an oversized head before it is complete
_MAX_JSON_DEPTH = 32


@dataclass(frozen=True)
class PeerCred:
    pid: int
    uid: int
    gid: int


class HttpError(Exception):
    """An answer with a 4xx/5xx status and a message for the client.

    ``details`` are extra fields of the answer's ``error`` object (e.g. the level needed).
    """

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
        except RecursionError as e:
            raise HttpError(400, "the request body is JSON nested far too deep") from e
        except (ValueError, UnicodeDecodeError) as e:
            raise HttpError(400, f"the request body is not valid JSON: {e}") from e
        if not isinstance(data, dict):
            raise HttpError(400, "the request body must be a JSON object")
        if _depth(data) > _MAX_JSON_DEPTH:
            raise HttpError(
                400, f"the request body is JSON nested deeper than {_MAX_JSON_DEPTH} levels"
            )
        return data


def _depth(value: Any) -> int:
    deepest, level, todo = 0, 0, [(value, 1)]
    while todo:
        value, level = todo.pop()
        deepest = max(deepest, level)
        if isinstance(value, dict):
            todo += [(v, level + 1) for v in value.values()]
        elif isinstance(value, list):
            todo += [(v, level + 1) for v in value]
    return deepest


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


class _Gone(Exception):
    """The client closed the connection before sending anything."""


def peer_credentials(writer: asyncio.StreamWriter) -> PeerCred:
    sock: socket.socket = writer.get_extra_info("socket")
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return PeerCred(pid, uid, gid)


async def serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    handler: Handler,
    admission: Admission,
) -> None:
    """Read one request, answer it, close. Never raises."""
    limits = admission.limits
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=limits.max_head_bytes)
    try:
        peer = peer_credentials(writer)
        refused = admission.take(admission.connections, peer.uid)
        if refused is not None:
            await _write(writer, conn, _error(503, refused), limits)
            return
        try:
            await _serve(reader, writer, conn, handler, admission, peer)
        finally:
            admission.connections.give(peer.uid)
    except (ConnectionError, TimeoutError, _Gone):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def _serve(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    conn: h11.Connection,
    handler: Handler,
    admission: Admission,
    peer: PeerCred,
) -> None:
    limits = admission.limits
    try:
        request = await _read_request(reader, conn, peer, limits)
    except HttpError as e:
        await _write(writer, conn, _error(e.status, e.message, **e.details), limits)
        return
    refused = admission.take(admission.requests, peer.uid)
    if refused is not None:
        await _write(writer, conn, _error(503, refused), limits)
        return
    try:
        answer = await handler(request)
    except HttpError as e:
        answer = _error(e.status, e.message, **e.details)
    except Exception:
        _log.exception("internal error answering %s %s", request.method, request.path)
        answer = _error(500, "internal error in the Shepherd daemon (see its log)")
    finally:
        admission.requests.give(peer.uid)
    if isinstance(answer, Response):
        await _write(writer, conn, answer, limits)
        return
    refused = admission.take(admission.streams, peer.uid)
    if refused is not None:
        await _close_stream(answer)
        await _write(writer, conn, _error(503, refused), limits)
        return
    try:
        await _stream(reader, writer, conn, answer, limits)
    finally:
        admission.streams.give(peer.uid)


async def _read_request(
    reader: asyncio.StreamReader, conn: h11.Connection, peer: PeerCred, limits: Limits
) -> Request:
    started = time.monotonic()
    try:
        async with asyncio.timeout_at(_loop_time(started + limits.head_timeout_seconds)):
            head = await _next_event(reader, conn)
    except TimeoutError as e:
        raise HttpError(
            408, f"the request head did not arrive within {limits.head_timeout_seconds:g} s"
        ) from e
    if isinstance(head, h11.ConnectionClosed):
        raise _Gone
    if not isinstance(head, h11.Request):  # pragma: no cover - h11 starts with a Request
        raise HttpError(400, "expected a request")
    method, target = head.method.decode("ascii"), _ascii(head.target, "the request target")
    headers: dict[str, str] = {}
    for name, value in head.headers:
        key = name.decode("ascii")
        headers[key] = _ascii(value, f"the {key} header")
    if "transfer-encoding" in headers:
        raise HttpError(411, "chunked request bodies are not accepted; send Content-Length")
    if int(headers.get("content-length", "0")) > limits.max_body_bytes:
        raise HttpError(413, f"the request body is larger than {limits.max_body_bytes} bytes")
    body = bytearray()
    try:
        async with asyncio.timeout_at(_loop_time(started + limits.read_timeout_seconds)):
            while not isinstance(event := await _next_event(reader, conn), h11.EndOfMessage):
                if isinstance(event, h11.Data):
                    body += event.data
    except TimeoutError as e:
        raise HttpError(
            408, f"the request did not arrive within {limits.read_timeout_seconds:g} s"
        ) from e
    path, query = _split_target(target)
    return Request(method.upper(), path, query, headers, bytes(body), peer)


async def _next_event(reader: asyncio.StreamReader, conn: h11.Connection) -> Any:
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as e:
            raise HttpError(e.error_status_hint, f"bad request: {e}") from e
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await reader.read(_READ_CHUNK))


def _loop_time(monotonic_deadline: float) -> float:
    loop = asyncio.get_running_loop()
    return loop.time() + (monotonic_deadline - time.monotonic())


def _ascii(raw: bytes, what: str) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise HttpError(400, f"{what} is not ASCII (percent-encode it)") from e


def _split_target(target: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        raise HttpError(400, f"invalid request target {target[:100]!r}")
    try:
        path = unquote(parts.path, errors="strict")
    except UnicodeDecodeError as e:
        raise HttpError(400, f"the request path is not UTF-8 once decoded: {e}") from e
    if "\x00" in path or "/../" in f"{path}/" or "/./" in f"{path}/" or "//" in path:
        raise HttpError(400, f"invalid request path {target[:100]!r}")
    try:
        query = parse_qsl(parts.query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as e:
        raise HttpError(400, f"the query string is not UTF-8 once decoded: {e}") from e
    return path, dict(query)


def _error(status: int, message: str, **details: Any) -> Response:
    return Response.json({"error": {"status": status, "message": message, **details}}, status)


def _phrase(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b"Status"


async def _send(
    writer: asyncio.StreamWriter, conn: h11.Connection, event: Any, limits: Limits
) -> None:
    data = conn.send(event)
    if data:
        writer.write(data)
        async with asyncio.timeout(limits.write_timeout_seconds):
            await writer.drain()


async def _write(
    writer: asyncio.StreamWriter, conn: h11.Connection, response: Response, limits: Limits
) -> None:
    headers = [
        ("Content-Type", response.content_type),
        ("Content-Length", str(len(response.body))),
        ("Connection", "close"),
        *response.headers.items(),
    ]
    if response.status == 503:
        headers.append(("Retry-After", "1"))
    if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return  # h11 has already framed an answer (or the connection is gone)
    await _send(
        writer,
        conn,
        h11.Response(status_code=response.status, headers=headers, reason=_phrase(response.status)),
        limits,
    )
    await _send(writer, conn, h11.Data(data=response.body), limits)
    await _send(writer, conn, h11.EndOfMessage(), limits)


async def _stream(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    conn: h11.Connection,
    response: StreamResponse,
    limits: Limits,
) -> None:
    """Pump the chunks until they end or the client hangs up, whichever comes first."""
    headers = [
        ("Content-Type", response.content_type),
        ("Cache-Control", "no-store"),
        ("Connection", "close"),
    ]

    async def pump() -> None:
        await _send(
            writer, conn, h11.Response(status_code=200, headers=headers, reason=b"OK"), limits
        )
        async for chunk in response.chunks:
            await _send(writer, conn, h11.Data(data=chunk), limits)
        await _send(writer, conn, h11.EndOfMessage(), limits)

    async def hang_up() -> None:
        while await reader.read(_READ_CHUNK):
            pass  # a client has nothing more to say on a stream; only its EOF matters

    tasks = [asyncio.create_task(pump()), asyncio.create_task(hang_up())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await _close_stream(response)


async def _close_stream(response: StreamResponse) -> None:
    close = getattr(response.chunks, "aclose", None)
    if close is not None:
        await close()
