"""Bad requests get a 4xx naming what was wrong, never a 500: hundreds of generated
requests over every route of a real ``shepherd daemon`` process (bad heads, bodies, types,
unicode, depth), then the daemon is alive, its log has no traceback, and its open files and
memory are where they were."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.daemon.router import Router
from tests.fixtures.daemon import RunningDaemon

pytestmark = pytest.mark.integration

ROUTES = [
    (route[0], route[1].pattern.strip("^$"))
    for route in Router(cast(Any, None), api_group="shepherd").routes
]
_PARAM = re.compile(r"\(\?P<\w+>\[\^/\]\+\)")


def send(path: Path, data: bytes, timeout: float = 60) -> tuple[int, bytes]:
    """(status, body) of one raw request; the daemon answers and closes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    head, _, body = answer.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", head)
    assert match, f"no status line in {answer[:200]!r} for {data[:300]!r}"
    return int(match[1]), body


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_fds(pid: int) -> int:
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())


# ---- what a hostile or confused client sends ----------------------------------------------
segments = st.one_of(
    st.sampled_from(["default", "nosuch", "..", ".", "%2e%2e", "%00", "%ff%fe", "a" * 300]),
    st.text(min_size=1, max_size=20).map(lambda t: quote(t, safe="")),
)
query_values = st.one_of(
    st.sampled_from(["²", "١٢", "-1", "0", "1", "1e3", "99999999999999999999", "true", "yes"]),
    st.sampled_from(["0001-01-01T00:00+01:00", "9999-12-31T23:59-12:00", "yesterday", ""]),
    st.text(max_size=30),
)
queries = st.dictionaries(
    st.sampled_from(["limit", "offset", "since", "now", "event", "outcome", "x"]),
    query_values,
    max_size=4,
).map(lambda q: "&".join(f"{quote(k)}={quote(v)}" for k, v in q.items()))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
route_keys = st.sampled_from(
    ["now", "dry_run", "reason", "version", "agent", "value", "changes", "download.base_url"]
)
bodies = st.one_of(
    st.dictionaries(route_keys, json_values, max_size=3).map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(1, 6000).map(lambda n: b'{"a":' + b"[" * n + b"]" * n + b"}"),
    st.integers(1, 6000).map(lambda n: b"[" * n),
    st.binary(max_size=64),
    st.just(b'{"changes": {"network.http_proxy": 5}}'),
)
heads = st.one_of(
    st.just(b"Host: shepherd\r\n"),
    st.just(b""),  # HTTP/1.1 without Host
    st.just(b"Host: shepherd\r\nHost: other\r\n"),
    st.just(b"Host: shepherd\r\nTransfer-Encoding: chunked\r\n"),
    st.just(b"Host: shepherd\r\nX-\xc3\xa9: \xff\r\n"),
    st.just(b"Host: shepherd\r\nBad Header: x\r\n"),
    st.just(b"Host: shepherd\r\nContent-Type: text/plain\r\n"),
)
lengths = st.sampled_from(["exact", "exact", "exact", "none", "short", "huge", "junk", "twice"])


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    method, template = draw(st.sampled_from(ROUTES))
    if draw(st.integers(0, 9)) == 0:
        method = draw(st.sampled_from(["get", "PUT", "FOO", "GET\x00", "", "POST"]))
    path = _PARAM.sub(lambda _: draw(segments), template)
    query = draw(queries)
    target = path + (f"?{query}" if query else "")
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTX"]))
    body = draw(bodies) if method in ("POST", "PUT", "PATCH") or draw(st.booleans()) else b""
    head = draw(heads)
    length = draw(lengths)
    if length == "exact" and body:
        head += b"Content-Length: %d\r\n" % len(body)
    elif length == "short" and body:
        head += b"Content-Length: %d\r\n" % (len(body) // 2)
    elif length == "huge":
        head += b"Content-Length: 999999999999\r\n"
    elif length == "junk":
        head += b"Content-Length: \xd9\xa1\r\n"
    elif length == "twice":
        head += b"Content-Length: 1\r\nContent-Length: 2\r\n"
    return (
        method.encode(errors="replace")
        + b" "
        + target.encode()
        + b" "
        + version
        + b"\r\n"
        + head
        + b"\r\n"
        + body
    )


def test_named_bad_input_regressions(shepherd_daemon: RunningDaemon) -> None:
    status, body = send(
        shepherd_daemon.socket, b"GET /v1/history?limit=%C2%B2 HTTP/1.1\r\nHost: s\r\n\r\n"
    )
    assert status == 400 and "'limit'" in json.loads(body)["error"]["message"]
    deep = b'{"changes":' + b"[" * 5000 + b"]" * 5000 + b"}"
    status, body = send(
        shepherd_daemon.socket,
        b"PATCH /v1/settings HTTP/1.1\r\nHost: s\r\nContent-Length: %d\r\n\r\n%s"
        % (len(deep), deep),
    )
    assert status == 400 and "nested" in json.loads(body)["error"]["message"]


def test_generated_bad_requests_get_4xx_and_the_daemon_stays_well(
    shepherd_daemon: RunningDaemon,
) -> None:
    pid, path = shepherd_daemon.process.pid, shepherd_daemon.socket
    for _ in range(20):  # warm up: imports, caches, the first pass
        send(path, b"GET /v1/agents HTTP/1.1\r\nHost: s\r\n\r\n")
    fds_before, rss_before = open_fds(pid), rss_kib(pid)
    statuses: list[int] = []

    @settings(
        max_examples=350,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(request=requests())
    def one(request: bytes) -> None:
        status, body = send(path, request)
        statuses.append(status)
        assert 200 <= status < 300 or 400 <= status < 500, (status, request[:300], body[:300])

    one()
    assert len(statuses) >= 300
    assert shepherd_daemon.process.poll() is None, "the daemon died"
    assert shepherd_daemon.api.get("/v1")["service"] == "agent-shepherd"
    log = shepherd_daemon.log_text()
    assert "Traceback" not in log and "internal error" not in log, log[-3000:]
    assert open_fds(pid) <= fds_before + 4
    assert rss_kib(pid) < rss_before + 16 * 1024, (rss_before, rss_kib(pid))
