"""Benchmark: the daemon's idle memory and CPU with three agents, against a bare baseline.

A sandbox host with three agents under supervisord and the cluster emulator; the real
``shepherd daemon`` runs with its production cadence (first check after 60 s, then every
5 min) and one forced check per agent at the start, so the numbers include a loaded HTTP
stack. Over the measuring window its RSS is sampled every second and its CPU time read
from /proc. The baseline, measured in the same run, is a bare Python process that imports
httpx and idles in asyncio — the floor any Python daemon pays.

Targets (issue 17): RSS <= 35 MB, CPU < 0.5 %.

    .venv/bin/python bench/daemon_idle.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.figures import Figure, print_table  # noqa: E402
from engine.api.client import ApiClient, DaemonUnavailable  # noqa: E402
from sandbox.certs import SandboxCA  # noqa: E402
from sandbox.emulator import ClusterEmulator  # noqa: E402
from sandbox.hostlayout import lay_out_teleport_update_host  # noqa: E402
from sandbox.ports import wait_until  # noqa: E402
from sandbox.supervisor import Supervisor  # noqa: E402

RSS_TARGET_MB = 35.0
# httpx without its own command line (rich, click), as engine/__init__.py loads it
BASELINE = (
    "import sys\nsys.modules['httpx._main'] = None\n"
    "import asyncio, httpx\nasyncio.run(asyncio.sleep(3600))\n"
)
TICKS = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(pid: int, seconds: float) -> tuple[float, float, float]:
    """(mean RSS MB, peak RSS MB, CPU %) over ``seconds``."""
    cpu_start, start = cpu_seconds(pid), time.monotonic()
    samples = []
    while time.monotonic() - start < seconds:
        samples.append(rss_mb(pid))
        time.sleep(1)
    cpu = (cpu_seconds(pid) - cpu_start) / (time.monotonic() - start) * 100
    return sum(samples) / len(samples), max(samples), cpu


def measure_idle(seconds: float) -> tuple[float, float, float, float, float, float]:
    """(daemon mean RSS, peak RSS, CPU %, baseline mean RSS, peak RSS, CPU %)."""
    work = Path(tempfile.mkdtemp(prefix="shb-"))
    ca = SandboxCA.create(work / "ca")
    root = work / "host"
    with ClusterEmulator(ca.server_pair("server")) as cluster, Supervisor(work / "sv") as sv:
        cluster.set_cluster(edition="community")
        cluster.set_group("default", version="17.1.0", in_window=True)
        for namespace in ("default", "staging", "prod"):
            layout = lay_out_teleport_update_host(
                root, work / "artifacts", namespace=namespace, proxy=cluster.proxy_addr
            )
            sv.add_program(
                layout.unit_name,
                [str(layout.link_dir / "teleport"), "start", "--config",
                 str(layout.agent_config), "--pid-file", str(layout.pid_file)],
            )  # fmt: skip
        socket = work / "api.sock"
        daemon = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "--socket", str(socket), "daemon",
             "--root", str(root), "--service", "supervisord",
             "--supervisor-config", str(sv.config_path), "--ca-bundle", str(ca.ca_path)],
            cwd=REPO, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        baseline = subprocess.Popen([sys.executable, "-c", BASELINE])
        try:
            api = ApiClient(socket)

            def answers() -> bool:
                try:
                    return bool(api.get("/v1"))
                except DaemonUnavailable:
                    return False

            wait_until(answers, 30, "the daemon")
            for namespace in ("default", "staging", "prod"):
                api.post(f"/v1/agents/{namespace}/check")  # warm: one real pass each
            api.get("/v1/agents")
            print(
                f"measuring {seconds:.0f} s of idle (daemon and baseline side by side)",
                file=sys.stderr,
            )
            d_mean, d_peak, d_cpu = measure(daemon.pid, seconds)
            b_mean, b_peak, b_cpu = measure(baseline.pid, min(seconds, 10))
        finally:
            for process in (daemon, baseline):
                process.send_signal(signal.SIGTERM)
                process.wait(60)
    shutil.rmtree(work, ignore_errors=True)
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
