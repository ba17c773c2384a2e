"""Benchmark: how fast root's ``GET /v1/agents`` (``shepherd status``) answers while the API
is crowded, against the same call on an idle daemon.

A sandbox host with one agent under supervisord and the cluster emulator; the real
``shepherd daemon``. First ``--runs`` status calls on the idle daemon (the baseline), then
the same with ``--streams`` event streams and ``--idle`` idle sockets (half of them with
half a request head) held open. Prints the median and worst latency of each.

Target: crowded worst < 200 ms.

    .venv/bin/python bench/api_availability.py [--runs 20] [--streams 64] [--idle 500]
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.api.client import ApiClient, DaemonUnavailable  # noqa: E402
from sandbox.certs import SandboxCA  # noqa: E402
from sandbox.emulator import ClusterEmulator  # noqa: E402
from sandbox.hostlayout import lay_out_teleport_update_host  # noqa: E402
from sandbox.ports import wait_until  # noqa: E402
from sandbox.supervisor import Supervisor  # noqa: E402


def latencies(api: ApiClient, runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.monotonic()
        api.get("/v1/agents")
        seconds.append(time.monotonic() - started)
    return seconds


def crowd(path: Path, streams: int, idle: int) -> list[socket.socket]:
    sockets = []
    for _ in range(streams):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(path))
        sock.sendall(b"GET /v1/events HTTP/1.1\r\nHost: shepherd\r\n\r\n")
        data = b""
        while b": connected" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise RuntimeError(f"a stream was refused: {data!r}")
            data += chunk
        sockets.append(sock)
    for index in range(idle):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(path))
        if index % 2:
            sock.sendall(b"GET /v1 HTTP/1.1\r\n")
        sockets.append(sock)
    return sockets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--idle", type=int, default=500)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="shb-"))
    ca = SandboxCA.create(work / "ca")
    root = work / "host"
    with ClusterEmulator(ca.server_pair("server")) as cluster, Supervisor(work / "sv") as sv:
        cluster.set_cluster(edition="community")
        cluster.set_group("default", version="17.1.0", in_window=False)
        layout = lay_out_teleport_update_host(
            root, work / "artifacts", namespace="default", proxy=cluster.proxy_addr
        )
        sv.add_program(
            layout.unit_name,
            [str(layout.link_dir / "teleport"), "start", "--config",
             str(layout.agent_config), "--pid-file", str(layout.pid_file)],
        )  # fmt: skip
        path = work / "api.sock"
        daemon = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "--socket", str(path), "daemon",
             "--root", str(root), "--service", "supervisord",
             "--supervisor-config", str(sv.config_path), "--ca-bundle", str(ca.ca_path)],
            cwd=REPO, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            api = ApiClient(path)

            def answers() -> bool:
                try:
                    return bool(api.get("/v1"))
                except DaemonUnavailable:
                    return False

            wait_until(answers, 30, "the daemon")
            idle = latencies(api, args.runs)
            sockets = crowd(path, args.streams, args.idle)
            try:
                crowded = latencies(api, args.runs)
            finally:
                for sock in sockets:
                    sock.close()
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(60)
    shutil.rmtree(work, ignore_errors=True)
    for name, seconds in (("idle daemon", idle), ("crowded daemon", crowded)):
        print(
            f"{name:16} median {statistics.median(seconds) * 1000:6.1f} ms"
            f"   worst {max(seconds) * 1000:6.1f} ms"
        )
    print(f"({args.streams} streams and {args.idle} idle sockets open while crowded)")
    print(f"target: crowded worst < 200 ms ({'met' if max(crowded) < 0.2 else 'MISSED'})")


if __name__ == "__main__":
    main()
