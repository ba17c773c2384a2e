"""No client can starve the API: a real ``shepherd daemon`` process under idle sockets,
open event streams, dripping clients and one greedy user, while root asks for status."""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.daemon.limits import Limits
from sandbox.emulator import ClusterEmulator
from sandbox.ports import wait_until
from tests.fixtures.daemon import RunningDaemon, serve_one_agent, start_daemon
from tests.fixtures.sandboxhost import SandboxHost
from tests.fixtures.users import as_user, ensure_user

pytestmark = pytest.mark.integration

API_GROUP = "shepherd-test"
GREEDY = "shepherd-greedy"
LIMITS = Limits()


def open_sockets(pid: int) -> int:
    """The daemon's open sockets (its files, such as an agent's lock during the start-up
    repair, come and go on their own)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            count += os.readlink(fd).startswith("socket:")
    return count


def wait_until_idle(daemon: RunningDaemon) -> None:
    """Past the agent's start-up repair and first health reading: nothing of the daemon's
    own comes and goes while the test counts its sockets."""

    def idle() -> bool:
        status = daemon.api.get("/v1/agents/default")
        return status["next_check"] is not None and status["busy"] is None

    wait_until(idle, 60, "the daemon to finish starting the agent's poll loop")


def connect(path: Path, timeout: float = 10) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))  # blocking: waits for room in the listen backlog
    sock.settimeout(timeout)
    return sock


def open_stream(path: Path) -> tuple[socket.socket, bytes]:
    """An event stream; (its socket, what arrived first: the head and ': connected', or
    an error answer)."""
    sock = connect(path)
    sock.sendall(b"GET /v1/events HTTP/1.1\r\nHost: shepherd\r\n\r\n")
    data = b""
    while b": connected" not in data and b"\r\n\r\n{" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return sock, data


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@contextlib.contextmanager
def held(sockets: list[socket.socket]) -> Iterator[list[socket.socket]]:
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def timed_status(daemon: RunningDaemon) -> float:
    started = time.monotonic()
    agents = daemon.api.get("/v1/agents")["agents"]
    assert [a["agent"] for a in agents] == ["default"]
    return time.monotonic() - started


@pytest.fixture
def patient_daemon(sandbox_host: SandboxHost, cluster: ClusterEmulator) -> Iterator[RunningDaemon]:
    """The daemon with a head timeout (120 s) longer than a loaded machine takes to open
    564 connections: with the default 5 s the first idle ones were cut off (408) before
    the last were accepted, and they were never all open at once (one run in ~10)."""
    yield from serve_one_agent(sandbox_host, cluster, "--head-timeout", "120")


def test_status_answers_with_500_idle_sockets_and_64_streams_open(
    patient_daemon: RunningDaemon,
) -> None:
    shepherd_daemon = patient_daemon
    pid = shepherd_daemon.process.pid
    wait_until_idle(shepherd_daemon)
    before = open_sockets(pid)
    with held([]) as sockets:
        for _ in range(64):
            stream, first = open_stream(shepherd_daemon.socket)
            sockets.append(stream)
            assert b" 200 " in first and b": connected" in first, first
        for index in range(500):
            idle = connect(shepherd_daemon.socket)
            if index % 2:
                idle.sendall(b"GET /v1 HTTP/1.1\r\n")  # half a head, then nothing
            sockets.append(idle)
        wait_until(lambda: open_sockets(pid) >= before + 564, 60, "the daemon to accept them all")
        seconds = [timed_status(shepherd_daemon) for _ in range(5)]
        # 200 ms is the goal (bench/api_availability.py measures it); under a loaded test
        # machine only a loose bound is asserted
        assert min(seconds) < 2.0, seconds
        assert shepherd_daemon.cli("status").returncode == 0
    wait_until(lambda: open_sockets(pid) <= before + 8, 60, "the daemon to close them all")


def test_a_client_dripping_its_head_is_cut_off_at_the_head_deadline(
    shepherd_daemon: RunningDaemon,
) -> None:
    sock = connect(shepherd_daemon.socket, timeout=LIMITS.head_timeout_seconds + 30)
    stop = threading.Event()

    def drip() -> None:
        for byte in b"GET /v1 HTTP/1.1\r\nHost: shepherd\r\nX-Slow: " + b"y" * 10_000:
            if stop.wait(0.5):
                return
            with contextlib.suppress(OSError):
                sock.send(bytes([byte]))

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        answer = read_all(sock)
    finally:
        stop.set()
        dripper.join()
        sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert "did not arrive within" in json.loads(body)["error"]["message"]


@pytest.fixture
def greedy_daemon(sandbox_host: SandboxHost, cluster: Any) -> Iterator[RunningDaemon]:
    ensure_user(GREEDY, API_GROUP)
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.root.parent.chmod(0o755)
    daemon = start_daemon(sandbox_host, cluster, group=API_GROUP)
    try:
        yield daemon
    finally:
        daemon.stop()


def test_one_user_cannot_starve_root(greedy_daemon: RunningDaemon) -> None:
    """A member takes every stream and connection it may; its next ones are refused at
    once with 503 naming the limit, and root is answered all along."""
    path = greedy_daemon.socket
    ready_read, ready_write = os.pipe()
    release_read, release_write = os.pipe()

    def greedy() -> int:
        os.close(ready_read)
        os.close(release_write)
        with held([]) as sockets:
            for _ in range(LIMITS.max_streams_per_uid):
                stream, first = open_stream(path)
                assert b": connected" in first, first
                sockets.append(stream)
            extra_stream, refused_stream = open_stream(path)
            extra_stream.close()
            while len(sockets) < LIMITS.max_connections_per_uid:
                sockets.append(connect(path))
            with connect(path) as extra:
                refused_connection = read_all(extra)
            print(json.dumps([refused_stream.decode(), refused_connection.decode()]))
            os.write(ready_write, b"x")
            os.read(release_read, 1)  # until the parent has checked root is served
        return 0

    result: list[tuple[int, str]] = []
    child = threading.Thread(target=lambda: result.append(as_user(GREEDY, greedy)))
    child.start()
    try:
        # the parent keeps its ends open until the child (forked by the thread) is done
        readable, _, _ = select.select([ready_read], [], [], 120)
        if not readable or os.read(ready_read, 1) != b"x":
            os.close(release_write)
            child.join(60)
            raise AssertionError(f"the greedy user's process failed: {result}")
        assert timed_status(greedy_daemon) < 10
        root_stream, first = open_stream(path)
        root_stream.close()
        assert b": connected" in first
    finally:
        with contextlib.suppress(OSError):
            os.close(release_write)
        child.join(60)
        for fd in (ready_read, ready_write, release_read):
            os.close(fd)
    code, output = result[0]
    assert code == 0, output
    refused_stream, refused_connection = json.loads(output.strip().splitlines()[-1])
    for answer, what in ((refused_stream, "event streams"), (refused_connection, "connections")):
        assert answer.startswith("HTTP/1.1 503"), answer
        assert f"already has {getattr(LIMITS, f'max_{what.split()[-1]}_per_uid')} {what}" in answer
