"""Benchmark: a wave of N concurrent agent updates vs one update, and the API during it.

A sandbox host (``bench/sandbox_host.py``): 51 agents under a real supervisord, the nginx
CDN, the cluster emulator and the real daemon with the protocol's health check (2 s polls,
6 stable: ~12 s that every update spends waiting). In one run: one update alone (agent
``default`` to 17.2.1), then N = 10 (agent01-10 to 17.2.1), then N = 50 (agent01-50 to
17.3.0), each a set of concurrent ``POST /v1/agents/<a>/update {"now": true}`` timed until
the last answer. Meanwhile a client asks ``GET /v1/agents`` every 0.25 s; its slowest
answer during a wave is the API figure. Targets: a wave <= 1.5x one update; status <= 100 ms.
Artifacts carry ``--padding-mb`` of incompressible padding (default 4 MB).

    .venv/bin/python bench/update_wave.py [--padding-mb 4] [--waves 10,50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.figures import Figure, print_table  # noqa: E402
from bench.sandbox_host import BenchHost  # noqa: E402
from engine.api.client import ApiClient  # noqa: E402
from sandbox.agentbuild import build_artifact  # noqa: E402

WAVE_TARGET = 1.5
STATUS_TARGET_MS = 100.0


class StatusProbe:
    """Times ``GET /v1/agents`` every ``interval`` s in a thread of its own."""

    def __init__(self, api: ApiClient, interval: float = 0.25) -> None:
        self._api = api
        self._interval = interval
        self._stop = threading.Event()
        self.samples: list[float] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> StatusProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            start = time.perf_counter()
            self._api.get("/v1/agents")
            self.samples.append((time.perf_counter() - start) * 1000)


def update_all(host: BenchHost, names: list[str]) -> float:
    """Seconds from the first request to the last answer; raises if one did not update."""

    def one(name: str) -> str:
        answer = ApiClient(host.socket).post(f"/v1/agents/{name}/update", {"now": True})
        outcome = answer.get("outcome") or {}
        if not outcome.get("ok"):
            raise RuntimeError(f"{name} did not update: {answer}")
        return name

    start = time.perf_counter()
    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(one, names))
    return time.perf_counter() - start


def figures(padding_mb: int = 4, waves: tuple[int, ...] = (10, 50)) -> list[Figure]:
    count = max(waves) + 1
    with BenchHost(count) as host:
        for version in ("17.2.1", "17.3.0"):
            build_artifact(host.cdn.root, version, padding_bytes=padding_mb << 20)
        host.cluster.set_group("default", version="17.2.1", in_window=True, jitter=0)
        single = update_all(host, ["default"])
        results = []
        for index, size in enumerate(sorted(waves)):
            if index:  # every later wave moves to the next version
                host.cluster.set_group("default", version="17.3.0", in_window=True, jitter=0)
            names = [f"agent{n:02d}" for n in range(1, size + 1)]
            with StatusProbe(host.api) as probe:
                seconds = update_all(host, names)
            results.append((size, seconds, probe.samples))
    out = []
    for size, seconds, samples in results:
        ratio = seconds / single
        out.append(
            Figure(
                f"wave of {size} concurrent updates ({padding_mb} MB artifacts)",
                f"{seconds:.1f} s",
                f"one update {single:.1f} s",
                ratio,
                f"<= {WAVE_TARGET}x one update",
                ratio <= WAVE_TARGET,
            )
        )
        worst = max(samples) if samples else float("nan")
        median = statistics.median(samples) if samples else float("nan")
        out.append(
            Figure(
                f"GET /v1/agents during the wave of {size} (slowest of {len(samples)})",
                f"{worst:.0f} ms (median {median:.0f})",
                "—",
                worst / STATUS_TARGET_MS,
                f"<= {STATUS_TARGET_MS:.0f} ms",
                worst <= STATUS_TARGET_MS,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--padding-mb", type=int, default=4)
    parser.add_argument("--waves", default="10,50", help="wave sizes, comma-separated")
    args = parser.parse_args()
    print_table(figures(args.padding_mb, tuple(int(w) for w in args.waves.split(","))))


if __name__ == "__main__":
    main()
