"""A sandbox host for the benchmarks: N agents laid out like teleport-update leaves them and
run by a real supervisord, the cluster emulator, the nginx CDN, and the real daemon; and
the sampling every benchmark of a process does (its RSS and CPU time from /proc).

    with BenchHost(agents=10) as host:
        host.api.get("/v1/agents")
        mean_mb, peak_mb, cpu_percent = sample(host.daemon.pid, seconds=60)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from engine.api.client import ApiClient, DaemonUnavailable  # noqa: E402
from engine.service.health import read_pid  # noqa: E402
from engine.store.layout import Layout  # noqa: E402
from sandbox.cdn import Cdn  # noqa: E402
from sandbox.certs import SandboxCA  # noqa: E402
from sandbox.emulator import ClusterEmulator  # noqa: E402
from sandbox.hostlayout import lay_out_teleport_update_host  # noqa: E402
from sandbox.ports import wait_until  # noqa: E402
from sandbox.supervisor import Supervisor  # noqa: E402

__all__ = ["BenchHost", "cpu_seconds", "rss_mb", "sample"]

TICKS = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def sample(pid: int, seconds: float) -> tuple[float, float, float]:
    """(mean RSS MB, peak RSS MB, CPU %) of ``pid`` over ``seconds``, RSS read every second."""
    cpu_start, start = cpu_seconds(pid), time.monotonic()
    samples = []
    while time.monotonic() - start < seconds:
        samples.append(rss_mb(pid))
        time.sleep(1)
    cpu = (cpu_seconds(pid) - cpu_start) / (time.monotonic() - start) * 100
    return sum(samples) / len(samples), max(samples), cpu


def namespace_names(count: int) -> list[str]:
    return ["default", *(f"agent{index:02d}" for index in range(1, count))]


class BenchHost:
    """``health_poll`` 2.0 is the protocol's (6 stable polls: ~12 s of health check).
    ``in_window``: the cluster's maintenance window is open. ``production_cadence``: the
    daemon's own first check (after 60 s) and poll interval (5 min), not an hour's."""

    def __init__(
        self,
        agents: int,
        *,
        health_poll: float = 2.0,
        daemon: bool = True,
        in_window: bool = False,
        production_cadence: bool = False,
    ) -> None:
        self.count = agents
        self.health_poll = health_poll
        self.with_daemon = daemon
        self.in_window = in_window
        self.production_cadence = production_cadence
        self.work = Path(tempfile.mkdtemp(prefix="shb-"))  # short: unix socket paths
        self.root = self.work / "host"
        self.layouts: dict[str, Layout] = {}
        self._stack = contextlib.ExitStack()
        self.daemon: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BenchHost:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> None:
        self.ca = SandboxCA.create(self.work / "ca")
        pair = self.ca.server_pair("server")
        self.cluster = self._stack.enter_context(ClusterEmulator(pair))
        self.cluster.set_cluster(edition="community", server_version="17.2.1")
        self.cluster.set_group("default", version="17.1.0", in_window=self.in_window, jitter=0)
        (self.work / "cdn").mkdir()
        self.cdn = self._stack.enter_context(Cdn(self.work / "cdn", pair, workdir=self.work / "ng"))
        self.supervisor = self._stack.enter_context(Supervisor(self.work / "sv"))
        for namespace in namespace_names(self.count):
            layout = lay_out_teleport_update_host(
                self.root, self.work / "artifacts", namespace=namespace,
                proxy=self.cluster.proxy_addr,
            )  # fmt: skip
            self.layouts[namespace] = layout
            self.supervisor.add_program(
                layout.unit_name,
                [str(layout.link_dir / "teleport"), "start", "--config",
                 str(layout.agent_config), "--pid-file", str(layout.pid_file)],
            )  # fmt: skip
        pid_files = [layout.pid_file for layout in self.layouts.values()]
        wait_until(lambda: all(read_pid(path) is not None for path in pid_files), 120, "the agents")
        if self.with_daemon:
            self.start_daemon()

    def start_daemon(self) -> None:
        self.socket = self.work / "api.sock"
        cadence = (
            [] if self.production_cadence else ["--first-check", "3600", "--poll-interval", "3600"]
        )
        self.daemon = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "--socket", str(self.socket), "daemon",
             "--root", str(self.root), "--service", "supervisord",
             "--supervisor-config", str(self.supervisor.config_path),
             "--ca-bundle", str(self.ca.ca_path), "--base-url", self.cdn.base_url,
             "--arch", "amd64", *cadence, "--health-poll", str(self.health_poll)],
            cwd=REPO, stderr=(self.work / "daemon.log").open("wb"),
        )  # fmt: skip
        self.api = ApiClient(self.socket)

        def answers() -> bool:
            try:
                return bool(self.api.get("/v1"))
            except DaemonUnavailable:
                return False

        wait_until(answers, 60, "the daemon")

    def close(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(120)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait(10)
        self._stack.close()
        keep = os.environ.get("SHB_DAEMON_LOG")  # a path to keep the daemon's log at
        if keep and (self.work / "daemon.log").exists():
            shutil.copy(self.work / "daemon.log", keep)
        shutil.rmtree(self.work, ignore_errors=True)
