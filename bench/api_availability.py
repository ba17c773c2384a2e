"""Benchmark: how fast root's ``GET /v1/agents`` (``shepherd status``) answers while the API
is crowded, against the same call on an idle daemon.

A sandbox host (``bench.sandbox_host.BenchHost``) with one agent under supervisord and the
cluster emulator; the real ``shepherd daemon``. First ``--runs`` status calls on the idle
daemon (the baseline), then the same with ``--streams`` event streams and ``--idle`` idle
sockets (half of them with half a request head) held open. Prints the median and worst
latency of each.

Target: crowded worst < 200 ms.

    .venv/bin/python bench/api_availability.py [--runs 20] [--streams 64] [--idle 500]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.sandbox_host import BenchHost  # noqa: E402
from engine.api.client import ApiClient  # noqa: E402


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

    with BenchHost(1, production_cadence=True) as host:
        idle = latencies(host.api, args.runs)
        sockets = crowd(host.socket, args.streams, args.idle)
        try:
            crowded = latencies(host.api, args.runs)
        finally:
            for sock in sockets:
                sock.close()
    for name, seconds in (("idle daemon", idle), ("crowded daemon", crowded)):
        print(
            f"{name:16} median {statistics.median(seconds) * 1000:6.1f} ms"
            f"   worst {max(seconds) * 1000:6.1f} ms"
        )
    print(f"({args.streams} streams and {args.idle} idle sockets open while crowded)")
    print(f"target: crowded worst < 200 ms ({'met' if max(crowded) < 0.2 else 'MISSED'})")


if __name__ == "__main__":
    main()
