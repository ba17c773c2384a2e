"""Benchmark: the daemon's idle memory and CPU with three agents, against a bare baseline.

A sandbox host (``bench.sandbox_host.BenchHost``) with three agents under supervisord and
the cluster emulator; the real ``shepherd daemon`` runs with its production cadence (first
check after 60 s, then every 5 min) and one forced check per agent at the start, so the
numbers include a loaded HTTP stack. Over the measuring window its RSS is sampled every
second and its CPU time read from /proc. The baseline, measured in the same run, is a bare
Python process that imports httpx and idles in asyncio — the floor any Python daemon pays.

Targets (issue 17): RSS <= 35 MB, CPU < 0.5 %.

    .venv/bin/python bench/daemon_idle.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.figures import Figure, print_table  # noqa: E402
from bench.sandbox_host import BenchHost, cpu_seconds, rss_mb, sample  # noqa: E402

__all__ = ["cpu_seconds", "figures", "measure_idle", "rss_mb"]  # tray_idle.py samples too

RSS_TARGET_MB = 35.0
# httpx without its own command line (rich, click), as engine/__init__.py loads it
BASELINE = (
    "import sys\nsys.modules['httpx._main'] = None\n"
    "import asyncio, httpx\nasyncio.run(asyncio.sleep(3600))\n"
)


def measure_idle(seconds: float) -> tuple[float, float, float, float, float, float]:
    """(daemon mean RSS, peak RSS, CPU %, baseline mean RSS, peak RSS, CPU %)."""
    with BenchHost(3, in_window=True, production_cadence=True) as host:
        assert host.daemon is not None
        baseline = subprocess.Popen([sys.executable, "-c", BASELINE])
        try:
            for namespace in host.layouts:
                host.api.post(f"/v1/agents/{namespace}/check")  # warm: one real pass each
            host.api.get("/v1/agents")
            print(
                f"measuring {seconds:.0f} s of idle (daemon and baseline side by side)",
                file=sys.stderr,
            )
            d_mean, d_peak, d_cpu = sample(host.daemon.pid, seconds)
            b_mean, b_peak, b_cpu = sample(baseline.pid, min(seconds, 10))
        finally:
            baseline.send_signal(signal.SIGTERM)
            baseline.wait(60)
    return d_mean, d_peak, d_cpu, b_mean, b_peak, b_cpu


def figures(seconds: float = 60) -> list[Figure]:
    _, d_peak, d_cpu, _, b_peak, b_cpu = measure_idle(seconds)
    return [
        Figure(
            f"daemon idle, 3 agents: peak RSS over {seconds:.0f} s",
            f"{d_peak:.1f} MB",
            f"asyncio + httpx {b_peak:.1f} MB",
            d_peak / b_peak,
            f"<= {RSS_TARGET_MB:.0f} MB",
            d_peak <= RSS_TARGET_MB,
        ),
        Figure(
            "daemon idle, 3 agents: CPU",
            f"{d_cpu:.2f} %",
            f"{b_cpu:.2f} %",
            None,
            "< 0.5 %",
            d_cpu < 0.5,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    print_table(figures(args.seconds))


if __name__ == "__main__":
    main()
