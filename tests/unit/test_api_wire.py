"""The API client's HTTP/1.1 framing (engine.api.wire) against canned answers on a real
socket pair: Content-Length, chunked (an event stream), to the end of the connection, and
answers that break off or are not HTTP."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from engine.api.wire import Answer, BrokenAnswer, send_request


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    client, server = socket.socketpair()
    client.settimeout(10)
    server.settimeout(10)
    yield client, server
    client.close()
    server.close()


def answer_with(pair: tuple[socket.socket, socket.socket], raw: bytes) -> tuple[Answer, bytes]:
    """Send a request on the client side while the server side answers ``raw`` and hangs up;
    the answer and the request the server read."""
    client, server = pair
    request = bytearray()

    def serve() -> None:
        while b"\r\n\r\n" not in request or not request.endswith(b"}"):
            request.extend(server.recv(4096))
        server.sendall(raw)
        server.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        return send_request(client, "POST", "/v1/x?a=1", b'{"k": 1}'), bytes(request)
    finally:
        thread.join(10)


def test_a_content_length_answer_and_the_request_sent(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    raw = (
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"a": 1}\n'
    )
    answer, request = answer_with(pair, raw)
    assert answer.status == 200 and answer.headers["content-type"] == "application/json"
    assert answer.read(1000) == b'{"a": 1}\n'
    head, _, body = request.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"POST /v1/x?a=1 HTTP/1.1"
    assert b"Content-Length: 8" in head and b"Connection: close" in head
    assert body == b'{"k": 1}'


def test_a_chunked_event_stream_comes_line_by_line(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    events = b': connected\n\nevent: state\ndata: {"a":1}\n\n'
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (events[:7], events[7:]))
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    answer, _ = answer_with(pair, raw)
    assert list(answer.lines()) == [": connected", "", "event: state", 'data: {"a":1}', ""]


def test_without_a_length_the_body_ends_with_the_connection(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    answer, _ = answer_with(pair, b"HTTP/1.1 503 Busy\r\nRetry-After: 1\r\n\r\nlater")
    assert answer.status == 503 and answer.read(100) == b"later"


def test_read_stops_past_its_limit(pair: tuple[socket.socket, socket.socket]) -> None:
    answer, _ = answer_with(pair, b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000)
    assert 10 <= len(answer.read(10)) <= 5000


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP answer"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "broke off"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "without a colon"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "broke off"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"),
    ],
    ids=["not http", "head cut", "bad header", "body cut", "bad chunk", "bad length"],
)
def test_a_broken_answer_says_what_is_wrong(
    pair: tuple[socket.socket, socket.socket], raw: bytes, words: str
) -> None:
    with pytest.raises(BrokenAnswer, match=words):
        answer, _ = answer_with(pair, raw)
        answer.read(1000)
