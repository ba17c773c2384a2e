"""Benchmark: the daemon's CPU per agent per status request (``GET /v1/agents``).

A sandbox host with N agents under supervisord and the real daemon. The daemon's CPU time
(from /proc) is read around R requests of ``GET /v1/agents``; the figure is that CPU / (R x
N): everything a status answer costs per agent (reading its records, its health probe,
the answer's JSON), with the request's own overhead shared out. The baseline, in the same
run, is the daemon's CPU per ``GET /v1`` (a request that reads no agent). Target: 0.5 ms.

    .venv/bin/python bench/status_cost.py [--agents 10] [--requests 100]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.figures import Figure, print_table  # noqa: E402
from bench.sandbox_host import BenchHost, cpu_seconds  # noqa: E402

TARGET_MS = 0.5


def cpu_per_request(host: BenchHost, path: str, requests: int) -> float:
    assert host.daemon is not None
    host.api.get(path)  # warm: records parsed, modules imported
    before = cpu_seconds(host.daemon.pid)
    for _ in range(requests):
        host.api.get(path)
    return (cpu_seconds(host.daemon.pid) - before) / requests


def figures(agents: int = 10, requests: int = 100) -> list[Figure]:
    with BenchHost(agents) as host:
        hello = cpu_per_request(host, "/v1", requests)
        status = cpu_per_request(host, "/v1/agents", requests)
    per_agent_ms = status / agents * 1000
    return [
        Figure(
            f"status cost, daemon CPU per agent per GET /v1/agents ({agents} agents)",
            f"{per_agent_ms:.2f} ms",
            f"GET /v1 {hello * 1000:.2f} ms/request",
            per_agent_ms / TARGET_MS,
            f"<= {TARGET_MS} ms (ratio to it <= 1)",
            per_agent_ms <= TARGET_MS,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    print_table(figures(args.agents, args.requests))


if __name__ == "__main__":
    main()
