"""HTTP/1.1 on a connected socket, with the standard library only: one request, one answer
(the daemon closes every connection after its answer: ``Connection: close``).

    answer = send_request(sock, "GET", "/v1/agents", None)
    answer.status, answer.headers["content-type"]
    answer.read(limit)          # the body, at most ``limit`` bytes
    for line in answer.lines(): # or the body line by line, as it arrives (event streams)

The body is framed by ``Content-Length``, by ``Transfer-Encoding: chunked`` (an event
stream) or, failing both, by the end of the connection.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

__all__ = ["Answer", "BrokenAnswer", "send_request"]

_MAX_LINE = 64 * 1024
_MAX_HEADERS = 100
_READ = 64 * 1024


class BrokenAnswer(Exception):
    """The answer broke off or is not HTTP/1.1."""


def send_request(sock: socket.socket, method: str, target: str, body: bytes | None) -> Answer:
    """Send the request; return once the answer's head has arrived.

    Raises:
        OSError: the socket failed or timed out.
        BrokenAnswer: the answer's head is not HTTP/1.1, or the connection ended in it.
    """
    head = [f"{method} {target} HTTP/1.1", "Host: shepherd", "Connection: close"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    sock.sendall("\r\n".join(head).encode() + b"\r\n\r\n" + (body or b""))
    reader = _Reader(sock)
    status_line = reader.line().decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise BrokenAnswer(f"not an HTTP answer: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    while line := reader.line():
        if len(headers) >= _MAX_HEADERS:
            raise BrokenAnswer("too many header lines in the answer")
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise BrokenAnswer(f"a header line without a colon: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(parts[1]), headers, reader)


class Answer:
    def __init__(self, status: int, headers: dict[str, str], reader: _Reader) -> None:
        self.status = status
        self.headers = headers  # names in lower case
        self._reader = reader

    def read(self, limit: int) -> bytes:
        """The body, or its first ``limit`` bytes and a little more when it is longer."""
        body = bytearray()
        for piece in self.pieces():
            body += piece
            if len(body) >= limit:
                break
        return bytes(body)

    def lines(self) -> Iterator[str]:
        """The body's lines (without their line ends), each as soon as it is complete."""
        pending = b""
        for piece in self.pieces():
            pending += piece
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line.rstrip(b"\r").decode("utf-8", "replace")
            if len(pending) > _MAX_LINE:
                raise BrokenAnswer("a line of the answer is too long")
        if pending:
            yield pending.rstrip(b"\r").decode("utf-8", "replace")

    def pieces(self) -> Iterator[bytes]:
        """The body as it arrives, its framing taken off."""
        reader = self._reader
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            while size := _chunk_size(reader.line()):
                yield from reader.exactly(size)
                if reader.line():
                    raise BrokenAnswer("a chunk of the answer is longer than it said")
            while reader.line():
                pass  # trailers
            return
        length = self.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise BrokenAnswer(f"a bad Content-Length: {length!r}")
            yield from reader.exactly(int(length))
            return
        while piece := reader.some():
            yield piece


def _chunk_size(line: bytes) -> int:
    try:
        return int(line.split(b";", 1)[0].strip(), 16)
    except ValueError:
        raise BrokenAnswer(f"a bad chunk size: {line[:40]!r}") from None


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def _fill(self) -> bool:
        data = self._sock.recv(_READ)
        self._buffer += data
        return bool(data)

    def line(self) -> bytes:
        """The next line, without its CRLF."""
        while (end := self._buffer.find(b"\n")) < 0:
            if len(self._buffer) > _MAX_LINE:
                raise BrokenAnswer("a line of the answer's framing is too long")
            if not self._fill():
                raise BrokenAnswer("the answer broke off")
        line = bytes(self._buffer[:end]).rstrip(b"\r")
        del self._buffer[: end + 1]
        return line

    def exactly(self, count: int) -> Iterator[bytes]:
        while count > 0:
            if not self._buffer and not self._fill():
                raise BrokenAnswer("the answer broke off")
            piece = bytes(self._buffer[:count])
            del self._buffer[: len(piece)]
            count -= len(piece)
            yield piece

    def some(self) -> bytes:
        """What has arrived (b"" at the end of the connection)."""
        if not self._buffer:
            self._fill()
        piece = bytes(self._buffer)
        self._buffer.clear()
        return piece
