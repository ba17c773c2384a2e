"""Benchmark: the tray's idle memory, CPU and requests, against a bare Qt app.

A sandbox host with one agent under supervisord, the cluster emulator and the real
``shepherd daemon``; the real tray program (``python -m gui.app --window --verbose``,
offscreen Qt) follows it. Over the measuring window (default 120 s; issue 15 asks for
30 min, ``--seconds 1800``) both the tray and a bare PySide6 app showing one window idle
side by side; their RSS is sampled every second. The tray logs every status read it makes,
so the window also counts them: while the event stream is up there should be none.

With ``--desktop`` both run on a virtual desktop instead (Xvfb, a session bus, dunst and
trayer, Qt's xcb platform): the tray then sits in the tray host with no window open, as
it idles on a desktop, and the bare app shows its window there.

Targets (issue 15): RSS <= 60 MB and flat (last minute's mean within 2 MB of the first's),
no status reads while idle, CPU < 0.5 %.

    .venv/bin/python bench/tray_idle.py [--seconds 120] [--desktop]
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

from bench.daemon_idle import cpu_seconds, rss_mb  # noqa: E402
from bench.figures import Figure, print_table  # noqa: E402
from engine.api.client import ApiClient, DaemonUnavailable  # noqa: E402
from sandbox.certs import SandboxCA  # noqa: E402
from sandbox.emulator import ClusterEmulator  # noqa: E402
from sandbox.hostlayout import lay_out_teleport_update_host  # noqa: E402
from sandbox.ports import wait_until  # noqa: E402
from sandbox.supervisor import Supervisor  # noqa: E402

RSS_TARGET_MB = 60.0
FLAT_MB = 2.0
BARE_QT = (
    "from PySide6.QtWidgets import QApplication, QLabel\n"
    "app = QApplication([]); label = QLabel('bare'); label.show(); app.exec()\n"
)


def sample(pids: list[int], seconds: float) -> tuple[list[list[float]], list[float]]:
    """RSS samples (MB, one a second) and CPU % of each pid over ``seconds``."""
    start = time.monotonic()
    cpu_start = [cpu_seconds(pid) for pid in pids]
    samples: list[list[float]] = [[] for _ in pids]
    while time.monotonic() - start < seconds:
        for index, pid in enumerate(pids):
            samples[index].append(rss_mb(pid))
        time.sleep(1)
    elapsed = time.monotonic() - start
    cpu = [(cpu_seconds(p) - c) / elapsed * 100 for p, c in zip(pids, cpu_start, strict=True)]
    return samples, cpu


def status_reads(log: Path) -> int:
    return log.read_text(errors="replace").count("reading the agents' status")


def measure(seconds: float, desktop: dict[str, str] | None = None) -> dict[str, float]:
    """``desktop``: the environment of a virtual desktop to run both apps on (the tray in
    its tray host); None: offscreen, the tray showing its window (``--window``)."""
    work = Path(tempfile.mkdtemp(prefix="shb-tray-"))
    ca = SandboxCA.create(work / "ca")
    root = work / "host"
    if desktop is None:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    else:
        env = {**desktop, "PYTHONPATH": str(REPO), "XDG_RUNTIME_DIR": str(work)}
    mode = ["--window"] if desktop is None else []
    with ClusterEmulator(ca.server_pair("server")) as cluster, Supervisor(work / "sv") as sv:
        cluster.set_cluster(edition="community")
        cluster.set_group("default", version="17.1.0", in_window=True)
        layout = lay_out_teleport_update_host(root, work / "artifacts", proxy=cluster.proxy_addr)
        sv.add_program(
            layout.unit_name,
            [str(layout.link_dir / "teleport"), "start", "--config",
             str(layout.agent_config), "--pid-file", str(layout.pid_file)],
        )  # fmt: skip
        socket = work / "api.sock"
        log = work / "tray.log"
        daemon = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "--socket", str(socket), "daemon",
             "--root", str(root), "--service", "supervisord",
             "--supervisor-config", str(sv.config_path), "--ca-bundle", str(ca.ca_path),
             "--first-check", "3600", "--poll-interval", "3600"],
            cwd=REPO, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        processes = [daemon]
        try:
            api = ApiClient(socket)

            def answers() -> bool:
                try:
                    return bool(api.get("/v1"))
                except DaemonUnavailable:
                    return False

            wait_until(answers, 30, "the daemon")
            tray = subprocess.Popen(
                [sys.executable, "-m", "gui.app", "--socket", str(socket), *mode,
                 "--verbose", "--log-file", str(log)],
                cwd=REPO, env=env, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            bare = subprocess.Popen([sys.executable, "-c", BARE_QT], env=env)
            processes += [tray, bare]
            wait_until(lambda: log.exists() and "showing" in log.read_text(), 60, "the tray")
            reads_before = status_reads(log)
            print(f"measuring {seconds:.0f} s of idle (tray and bare Qt)", file=sys.stderr)
            (tray_rss, bare_rss), (tray_cpu, _) = sample([tray.pid, bare.pid], seconds)
            reads = status_reads(log) - reads_before
        finally:
            for process in reversed(processes):
                process.send_signal(signal.SIGTERM)
                process.wait(60)
    shutil.rmtree(work, ignore_errors=True)
    minute = max(1, min(60, len(tray_rss) // 4))
    return {
        "peak": max(tray_rss),
        "first": sum(tray_rss[:minute]) / minute,
        "last": sum(tray_rss[-minute:]) / minute,
        "bare": max(bare_rss),
        "cpu": tray_cpu,
        "reads": reads,
        "seconds": seconds,
    }


def figures(seconds: float = 120, *, on_desktop: bool = False) -> list[Figure]:
    if on_desktop:
        from scripts.demo_gui import desktop  # noqa: PLC0415 - only for this mode

        with desktop() as env:
            m = measure(seconds, env)
        where = "in a tray host (Xvfb)"
    else:
        m = measure(seconds)
        where = "its window shown (offscreen)"
    growth = m["last"] - m["first"]
    return [
        Figure(
            f"tray idle, {where}: peak RSS over {m['seconds']:.0f} s",
            f"{m['peak']:.1f} MB",
            f"bare PySide6 window {m['bare']:.1f} MB",
            m["peak"] / m["bare"],
            f"<= {RSS_TARGET_MB:.0f} MB",
            m["peak"] <= RSS_TARGET_MB,
        ),
        Figure(
            "tray idle: RSS growth, last vs first quarter (mean)",
            f"{growth:+.2f} MB",
            f"{m['first']:.1f} MB at the start",
            None,
            f"within {FLAT_MB:.0f} MB",
            abs(growth) <= FLAT_MB,
        ),
        Figure(
            "tray idle: status reads while the event stream is up",
            f"{m['reads']:.0f}",
            "—",
            None,
            "0",
            m["reads"] == 0,
        ),
        Figure("tray idle: CPU", f"{m['cpu']:.2f} %", "—", None, "< 0.5 %", m["cpu"] < 0.5),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--desktop", action="store_true", help="on Xvfb, in a tray host")
    args = parser.parse_args()
    print_table(figures(args.seconds, on_desktop=args.desktop))


if __name__ == "__main__":
    main()
