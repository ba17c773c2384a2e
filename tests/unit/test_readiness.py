"""The status answer's readiness (engine.daemon.readiness): an agent's ``/readyz`` probed at
most once a second, and an answer that never waits long on an agent that does not answer.

The agent is a real HTTP server on a Unix socket (the standard library's), answering
``/readyz`` with a PID, or holding the request without an answer."""

from __future__ import annotations

import http.server
import json
import os
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.daemon.readiness import Readiness
from sandbox.ports import wait_until


class _Agent(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, pid: int) -> None:
        self.pid = pid
        self.requests = 0
        self.hold = threading.Event()  # set: hold every request until released
        self.release = threading.Event()
        super().__init__(str(path), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Agent

    def address_string(self) -> str:  # a Unix socket has no client address
        return "agent"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests += 1
        if self.server.hold.is_set():
            self.server.release.wait(30)
            return
        body = json.dumps({"status": "ok", "pid": self.server.pid}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[_Agent, Path, Path]]:
    pid_file, socket_path = tmp_path / "teleport.pid", tmp_path / "debug.sock"
    pid_file.write_text(f"{os.getpid()}\n")  # a live PID: this test's own
    server = _Agent(socket_path, os.getpid())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, pid_file, socket_path
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_an_agent_never_probed_is_waited_for_and_then_answered_from_the_probe(
    agent: tuple[_Agent, Path, Path],
) -> None:
    server, pid_file, socket_path = agent
    readiness = Readiness(fresh_seconds=60)
    try:
        first = readiness.health(pid_file, socket_path, time.monotonic())
        again = [readiness.health(pid_file, socket_path, time.monotonic()) for _ in range(20)]
    finally:
        readiness.close()
    assert first == {"running": True, "pid": os.getpid(), "ready": True}
    assert again == [first] * 20
    assert server.requests == 1  # one probe while it is fresh, not one per answer


def test_a_stale_probe_is_answered_at_once_and_asked_again_in_the_background(
    agent: tuple[_Agent, Path, Path],
) -> None:
    server, pid_file, socket_path = agent
    readiness = Readiness(fresh_seconds=0.0)
    try:
        assert readiness.health(pid_file, socket_path, time.monotonic())["ready"] is True
        server.hold.set()  # the agent stops answering (busy)
        started = time.monotonic()
        answer = readiness.health(pid_file, socket_path, time.monotonic())
        took = time.monotonic() - started
        wait_until(lambda: server.requests == 2, 10, "the probe asked again, in the background")
    finally:
        readiness.close()
    assert answer["ready"] is True  # the last probe of this process
    assert took < 0.5, took  # not the probe's 1 s timeout


def test_a_new_process_that_does_not_answer_yet_is_not_known_yet_then_not_ready(
    agent: tuple[_Agent, Path, Path],
) -> None:
    """The agent re-execs (a new PID) and holds its probe: the answer does not wait for it
    beyond its deadline, and says ``ready: None``; once the probe times out, False."""
    server, pid_file, socket_path = agent
    readiness = Readiness(probe_timeout=0.5)
    try:
        assert readiness.health(pid_file, socket_path, time.monotonic())["ready"] is True
        server.hold.set()
        new_pid = os.getppid()  # another live process
        pid_file.write_text(f"{new_pid}\n")
        started = time.monotonic()
        answer = readiness.health(pid_file, socket_path, time.monotonic())
        took = time.monotonic() - started
        assert answer == {"running": True, "pid": new_pid, "ready": None}
        assert took < 0.4, took
        wait_until(
            lambda: readiness.health(pid_file, socket_path, 0.0)["ready"] is not None,
            10,
            "the new process's probe to time out",
        )
        later = readiness.health(pid_file, socket_path, 0.0)
    finally:
        readiness.close()
    assert later == {"running": True, "pid": new_pid, "ready": False}


def test_no_process_or_no_debug_socket_is_not_probed(tmp_path: Path) -> None:
    readiness = Readiness()
    try:
        gone = readiness.health(tmp_path / "none.pid", tmp_path / "debug.sock", time.monotonic())
        (tmp_path / "teleport.pid").write_text(f"{os.getpid()}\n")
        older = readiness.health(tmp_path / "teleport.pid", tmp_path / "none.sock", 0.0)
    finally:
        readiness.close()
    assert gone == {"running": False, "pid": None, "ready": None}
    assert older == {"running": True, "pid": os.getpid(), "ready": None}


def test_the_waits_of_agents_never_probed_overlap_in_one_answer(tmp_path: Path) -> None:
    """Three agents that hold their probes, none probed before: one answer waits for them
    ``first_wait_seconds`` once, not once per agent."""
    servers, files = [], []
    for index in range(3):
        pid_file, socket_path = tmp_path / f"{index}.pid", tmp_path / f"{index}.sock"
        pid_file.write_text(f"{os.getpid()}\n")
        server = _Agent(socket_path, os.getpid())
        server.hold.set()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        files.append((pid_file, socket_path))
    readiness = Readiness(first_wait_seconds=0.5, probe_timeout=5)
    try:
        started = time.monotonic()
        for pid_file, socket_path in files:
            readiness.expect(pid_file, socket_path)
        answers = [readiness.health(p, s, started) for p, s in files]
        took = time.monotonic() - started
    finally:
        readiness.close()
        for server in servers:
            server.release.set()
            server.shutdown()
            server.server_close()
    assert [a["ready"] for a in answers] == [None, None, None]
    assert 0.5 <= took < 1.2, took
