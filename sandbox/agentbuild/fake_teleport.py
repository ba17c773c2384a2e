"""A stand-in ``teleport`` executable that behaves as an updater needs (stdlib only).

The builder prepends ``VERSION = ...`` and ``BEHAVIOUR = {...}`` and a ``#!`` line.

    teleport version                        -> "Teleport v17.2.1 git:... go1.23.4"
    teleport start --config C --pid-file P  -> runs the agent

``start`` runs a small keeper process (the one a service manager tracks) that runs the agent
as a child "worker". The worker writes its PID to the PID file (and holds it locked) and
serves ``GET /readyz`` -> ``{"status": "ok", "pid": N}`` on ``<data_dir>/debug.sock``. On
SIGHUP the running worker asks the keeper to re-exec: the keeper starts a new worker from the
path the agent was started with (the link dir, so after an update it is the new version) and
stops the old one once the new one has written its PID and taken the socket over — so the
PID in the PID file changes, as with Teleport's own re-exec, and the old one serves until
then. If the worker dies on its own, the keeper exits with the worker's status, so the
service manager sees the crash.

Started by systemd (a child of PID 1 with ``INVOCATION_ID`` set) there is no keeper, as
with Teleport itself: the started process is the worker, and on SIGHUP it starts its
successor and exits once the successor is up (or with status 1 if it is not); the unit's
``PIDFile=`` makes systemd follow the main PID to the successor. supervisord takes a process
that exits for a crash, hence the keeper there.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

VERSION = "0.0.0"
BEHAVIOUR: dict[str, Any] = {}


def _option(args: list[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _data_dir(config: str | None) -> Path:
    if config:
        with contextlib.suppress(OSError):
            match = re.search(r"^\s*data_dir:\s*['\"]?([^'\"\n]+)", Path(config).read_text(), re.M)
            if match:
                return Path(match.group(1).strip())
    return Path("/var/lib/teleport")


def keeper(args: list[str]) -> int:
    program = sys.argv[0]
    events: list[int] = []
    signal.signal(signal.SIGHUP, lambda s, f: events.append(s))
    signal.signal(signal.SIGUSR1, lambda s, f: events.append(s))
    signal.signal(signal.SIGTERM, lambda s, f: events.append(s))
    signal.signal(signal.SIGINT, lambda s, f: events.append(s))

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen([program, "_worker", *args])

    worker = spawn()
    while True:
        while events:
            event = events.pop(0)
            if event == signal.SIGHUP:
                with contextlib.suppress(ProcessLookupError):
                    worker.send_signal(signal.SIGHUP)
            elif event == signal.SIGUSR1:
                old, worker = worker, spawn()
                _await_handover(worker, args)  # the old worker serves until then
                old.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    old.wait(timeout=10)
            else:
                worker.terminate()
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
                return 0
        status = worker.poll()
        if status is not None:
            return status if status > 0 else 1 if status < 0 else 0
        time.sleep(0.02)


def _socket_inode(args: list[str]) -> int:
    with contextlib.suppress(OSError):
        return (_data_dir(_option(args, "--config")) / "debug.sock").stat().st_ino
    return 0


def _await_handover(new: subprocess.Popen[bytes], args: list[str], timeout: float = 10) -> bool:
    """Wait until the new worker has written its PID file and taken the debug socket over
    (True), or died or took longer than ``timeout`` (False): as Teleport's re-exec, the old
    process keeps serving until its successor is up."""
    pid_file = _option(args, "--pid-file")
    old_inode = _socket_inode(args)
    deadline = time.monotonic() + timeout
    named_since: float | None = None
    while time.monotonic() < deadline and new.poll() is None:
        named = False
        with contextlib.suppress(OSError):
            named = pid_file is None or Path(pid_file).read_text().strip() == str(new.pid)
        if named:
            named_since = named_since or time.monotonic()
            # a build without a debug socket never takes it over: 1 s of grace
            if _socket_inode(args) != old_inode or time.monotonic() - named_since > 1:
                return True
        time.sleep(0.002)
    return False


def _write_locked_pid_file(pid_file: Path, pid: int) -> None:
    """Write ``pid`` atomically and keep the file locked for the process's lifetime, as
    Teleport does: the unit's ExecReload (``pkill -HUP -L -F``) refuses an unlocked one."""
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(f"{pid_file}.{pid}.tmp")
    locked = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)  # open until exit
    fcntl.flock(locked, fcntl.LOCK_EX)
    os.write(locked, f"{pid}\n".encode())
    temp.replace(pid_file)


class _ReadyHandler(BaseHTTPRequestHandler):
    ready_at = 0.0
    asked = 0  # /readyz requests so far

    def log_message(self, format: str, *args: Any) -> None:
        return

    def address_string(self) -> str:
        return "unix"

    def do_GET(self) -> None:
        if self.path != "/readyz":
            self.send_response(404)
            self.end_headers()
            return
        crash_at = BEHAVIOUR.get("crash_at_readyz")
        _ReadyHandler.asked += 1
        if crash_at is not None and _ReadyHandler.asked >= int(crash_at):
            print(f"teleport {VERSION}: crashed (sandbox behaviour)", file=sys.stderr)
            os._exit(2)
        ready = not BEHAVIOUR.get("never_ready") and time.monotonic() >= self.ready_at
        body = json.dumps(
            {"status": "ok" if ready else "initializing", "pid": os.getpid()}
        ).encode()
        self.send_response(200 if ready else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _UnixHTTPServer(HTTPServer):
    address_family = socket.AF_UNIX

    def server_bind(self) -> None:
        self.socket.bind(self.server_address)

    def get_request(self) -> tuple[socket.socket, Any]:
        request, _ = self.socket.accept()
        return request, ("unix", 0)


def worker(args: list[str], *, direct: bool = False) -> int:
    """One agent process. ``direct`` (under systemd): there is no keeper; on SIGHUP this
    process starts its successor and exits once the successor is up, as Teleport does (the
    unit's PIDFile= lets systemd follow the main PID to the successor)."""
    if BEHAVIOUR.get("crash_at_start"):
        print(f"teleport {VERSION}: fatal error at start (sandbox behaviour)", file=sys.stderr)
        return 1
    pid_file = _option(args, "--pid-file")
    data_dir = _data_dir(_option(args, "--config"))
    data_dir.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()

    # Handlers first: once the PID file names this worker, an updater may SIGHUP it at once,
    # and the default action of SIGHUP would kill it.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda s, f: stop.set())
    signal.signal(signal.SIGINT, lambda s, f: stop.set())

    reexec = threading.Event()

    def on_hup(signum: int, frame: Any) -> None:
        if BEHAVIOUR.get("ignore_sighup"):
            return
        if direct:
            reexec.set()
            stop.set()
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(os.getppid(), signal.SIGUSR1)

    signal.signal(signal.SIGHUP, on_hup)

    if pid_file:
        _write_locked_pid_file(Path(pid_file), pid)

    sock_path = data_dir / "debug.sock"
    server, sock_inode = (None, 0) if BEHAVIOUR.get("no_debug_socket") else _serve(data_dir)
    crash_after = BEHAVIOUR.get("crash_after")
    deadline = time.monotonic() + float(crash_after) if crash_after is not None else None
    while not stop.wait(0.02):
        if deadline is not None and time.monotonic() >= deadline:
            print(f"teleport {VERSION}: crashed (sandbox behaviour)", file=sys.stderr)
            os._exit(2)
    status = 0
    if reexec.is_set():
        successor = subprocess.Popen([sys.argv[0], "_direct", *args])
        if not _await_handover(successor, args):
            status = 1  # the new version did not come up: the service manager sees a crash
    if server is not None:
        with contextlib.suppress(OSError):
            if sock_path.stat().st_ino == sock_inode:
                sock_path.unlink()  # only if a newer worker has not taken the path over
        server.server_close()
    if pid_file:
        with contextlib.suppress(OSError):
            if Path(pid_file).read_text().strip() == str(pid):
                Path(pid_file).unlink()
    return status


def _serve(data_dir: Path) -> tuple[_UnixHTTPServer, int]:
    """Serve /readyz on ``<data_dir>/debug.sock``, taking the path over atomically; the
    server and the socket's inode."""
    _ReadyHandler.ready_at = time.monotonic() + float(BEHAVIOUR.get("ready_after", 0))
    temp_sock = data_dir / f".debug.{os.getpid()}.sock"
    with contextlib.suppress(FileNotFoundError):
        temp_sock.unlink()
    server = _UnixHTTPServer(str(temp_sock), _ReadyHandler)  # type: ignore[arg-type]
    sock_path = data_dir / "debug.sock"
    temp_sock.replace(sock_path)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server, sock_path.stat().st_ino


def main() -> int:
    args = sys.argv[1:]
    command = args[0] if args else "help"
    if command == "version":
        print(f"Teleport v{VERSION} git:v{VERSION}-0-g5a1e0c1 go1.23.4")
        return 0
    if command == "start":
        # systemd (PID 1, which sets INVOCATION_ID) follows a new main PID through the PID
        # file; supervisord takes a process that exits for a crash, so there a keeper stays
        if os.getppid() == 1 and os.environ.get("INVOCATION_ID"):
            return worker(args[1:], direct=True)
        return keeper(args[1:])
    if command == "_worker":
        return worker(args[1:])
    if command == "_direct":
        return worker(args[1:], direct=True)
    print("usage: teleport version | teleport start --config FILE --pid-file FILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
