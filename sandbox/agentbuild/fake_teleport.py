"""A stand-in ``teleport`` executable that behaves as an updater needs (stdlib only).

The builder prepends ``VERSION = ...`` and ``BEHAVIOUR = {...}`` and a ``#!`` line.

    teleport version                        -> "Teleport v17.2.1 git:... go1.23.4"
    teleport start --config C --pid-file P  -> runs the agent

``start`` runs a small keeper process (the one a service manager tracks) that runs the agent
as a child "worker". The worker writes its PID to the PID file and serves ``GET /readyz`` ->
``{"status": "ok", "pid": N}`` on ``<data_dir>/debug.sock``. On SIGHUP the running worker
asks the keeper to re-exec: the keeper starts a new worker from the path the agent was started
with (the link dir, so after an update it is the new version), then stops the old one — so the
PID in the PID file changes, as with Teleport's own re-exec. If the worker dies on its own,
the keeper exits with the worker's status, so the service manager sees the crash.
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


class _ReadyHandler(BaseHTTPRequestHandler):
    ready_at = 0.0

    def log_message(self, format: str, *args: Any) -> None:
        return

    def address_string(self) -> str:
        return "unix"

    def do_GET(self) -> None:
        if self.path != "/readyz":
            self.send_response(404)
            self.end_headers()
            return
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


def worker(args: list[str]) -> int:
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

    def on_hup(signum: int, frame: Any) -> None:
        if BEHAVIOUR.get("ignore_sighup"):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(os.getppid(), signal.SIGUSR1)

    signal.signal(signal.SIGHUP, on_hup)

    if pid_file:
        # Locked for the worker's lifetime, as Teleport's own PID file is: the unit's
        # ExecReload (`pkill -HUP -L -F`) refuses a PID file that no process holds locked.
        Path(pid_file).parent.mkdir(parents=True, exist_ok=True)
        temp = Path(f"{pid_file}.{pid}.tmp")
        pid_lock = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        fcntl.flock(pid_lock, fcntl.LOCK_EX)
        os.write(pid_lock, f"{pid}\n".encode())
        temp.replace(pid_file)

    sock_path = data_dir / "debug.sock"
    server: _UnixHTTPServer | None = None
    sock_inode = 0
    if not BEHAVIOUR.get("no_debug_socket"):
        _ReadyHandler.ready_at = time.monotonic() + float(BEHAVIOUR.get("ready_after", 0))
        temp_sock = data_dir / f".debug.{pid}.sock"
        with contextlib.suppress(FileNotFoundError):
            temp_sock.unlink()
        server = _UnixHTTPServer(str(temp_sock), _ReadyHandler)  # type: ignore[arg-type]
        temp_sock.replace(sock_path)  # take over the socket path atomically
        sock_inode = sock_path.stat().st_ino
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
    crash_after = BEHAVIOUR.get("crash_after")
    deadline = time.monotonic() + float(crash_after) if crash_after is not None else None
    while not stop.wait(0.02):
        if deadline is not None and time.monotonic() >= deadline:
            print(f"teleport {VERSION}: crashed (sandbox behaviour)", file=sys.stderr)
            os._exit(2)
    if server is not None:
        with contextlib.suppress(OSError):
            if sock_path.stat().st_ino == sock_inode:
                sock_path.unlink()  # only if a newer worker has not taken the path over
        server.server_close()
    if pid_file:
        with contextlib.suppress(OSError):
            if Path(pid_file).read_text().strip() == str(pid):
                Path(pid_file).unlink()
    return 0


def main() -> int:
    args = sys.argv[1:]
    command = args[0] if args else "help"
    if command == "version":
        print(f"Teleport v{VERSION} git:v{VERSION}-0-g5a1e0c1 go1.23.4")
        return 0
    if command == "start":
        return keeper(args[1:])
    if command == "_worker":
        return worker(args[1:])
    print("usage: teleport version | teleport start --config FILE --pid-file FILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
