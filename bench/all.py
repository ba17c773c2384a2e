"""Run every benchmark of issue 17 and print one table (Markdown, for bench/README.md).

Each row: the figure, the baseline measured in the same run, their ratio, the target,
pass/fail, and the machine's load average (1/5 min) when the row was measured: other work
shares the two cores, so absolute figures move with load and ratios less. Benchmarks print
ratios; no test asserts on time.

    .venv/bin/python bench/all.py [--quick] [--only extract,status_cost,...]

``--quick`` skips the long ones (the 50-agent wave, the outage runs) and shortens the rest.
Any other ``bench/*.py`` module with a ``figures()`` function is run too.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.figures import Figure, load, print_table  # noqa: E402

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {
    "all",
    "figures",
    "sandbox_host",
    "__init__",
    "update_unavailability",
    "systemd_unavailability",
}
CLI_TARGET = 3.0


def cli_startup(runs: int = 7) -> list[Figure]:
    """``shepherd --help`` and ``shepherd status`` (python -m engine.cli) vs ``python -c
    pass``, alternating. ``status`` asks a socket nothing listens on: its start-up and the
    API client's imports, without a daemon's answer."""

    def seconds(argv: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(argv, cwd=REPO, capture_output=True, check=False)
        return time.perf_counter() - start

    cli = [sys.executable, "-m", "engine.cli"]
    commands = {
        "shepherd --help": [*cli, "--help"],
        "shepherd status, no daemon listening": [*cli, "--socket", "/nonexistent.sock", "status"],
    }
    # one round runs the baseline and each command once, so that a change of load hits all
    # of them alike
    times: dict[str, list[float]] = {"bare": [], **{label: [] for label in commands}}
    for _ in range(runs):
        times["bare"].append(seconds([sys.executable, "-c", "pass"]))
        for label, argv in commands.items():
            times[label].append(seconds(argv))
    bare = statistics.median(times["bare"])
    figures = []
    for label in commands:
        ours = statistics.median(times[label])
        figures.append(
            Figure(
                f"{label} (median of {runs})",
                f"{ours * 1000:.0f} ms",
                f"python -c pass {bare * 1000:.0f} ms",
                ours / bare,
                f"<= {CLI_TARGET:.0f}x python -c pass",
                ours / bare <= CLI_TARGET,
            )
        )
    return figures


def outage(runs: int = 3) -> list[Figure]:
    """``bench/update_unavailability.py`` (its own output), summarised: the outage ratio."""
    result = subprocess.run(
        [sys.executable, str(HERE / "update_unavailability.py"), "--runs", str(runs),
         "--rollback-runs", "1"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    ratio = float(re.search(r"ratio update/restart\s*:\s*([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    update = re.search(r"shepherd update\s*:\s*median\s*(\d+) ms", result.stdout)
    restart = re.search(r"supervisorctl restart\s*:\s*median\s*(\d+) ms", result.stdout)
    return [
        Figure(
            f"outage during an update, median of {runs} (supervisord)",
            f"{update.group(1) if update else '?'} ms",
            f"supervisorctl restart {restart.group(1) if restart else '?'} ms",
            ratio,
            "<= 0.3x restart",
            ratio <= 0.3,
        )
    ]


def outage_systemd(runs: int = 3) -> list[Figure]:
    """``bench/update_unavailability.py --systemd`` (root: it boots a systemd host)."""
    result = subprocess.run(
        [sys.executable, str(HERE / "update_unavailability.py"), "--systemd", "--runs", str(runs)],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    ratio = float(re.search(r"ratio update/restart\s*:\s*([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    update = re.search(r"shepherd update\s*:\s*median\s*(\d+) ms", result.stdout)
    restart = re.search(r"systemctl restart\s*:\s*median\s*(\d+) ms", result.stdout)
    return [
        Figure(
            f"outage during an update, median of {runs} (booted systemd host)",
            f"{update.group(1) if update else '?'} ms",
            f"systemctl restart {restart.group(1) if restart else '?'} ms",
            ratio,
            "<= 0.3x restart",
            ratio <= 0.3,
        )
    ]


def plan(quick: bool) -> dict[str, Callable[[], list[Figure]]]:
    from bench import daemon_idle, download_verify, extract, history_query, status_cost, update_wave  # noqa: PLC0415  # noqa: PLC0415

    steps: dict[str, Callable[[], list[Figure]]] = {
        "cli_startup": lambda: cli_startup(5 if quick else 9),
        "extract": lambda: extract.figures(3 if quick else 5),
        "status_cost": lambda: status_cost.figures(10, 50 if quick else 100),
        "history_query": lambda: history_query.figures(20),
        "download_verify": lambda: download_verify.figures(200, 3),
        "daemon_idle": lambda: daemon_idle.figures(20 if quick else 60),
        "update_wave": lambda: update_wave.figures(4, (10,) if quick else (10, 50)),
    }
    if not quick:
        steps["update_unavailability"] = outage
        if os.geteuid() == 0:
            steps["systemd_unavailability"] = outage_systemd
    for path in sorted(HERE.glob("*.py")):  # benchmarks others add
        if path.stem in NOT_BENCHMARKS or path.stem in steps:
            continue
        module = importlib.import_module(f"bench.{path.stem}")
        if callable(getattr(module, "figures", None)):
            steps[path.stem] = module.figures
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help="comma-separated step names")
    args = parser.parse_args()
    steps = plan(args.quick)
    chosen = args.only.split(",") if args.only else list(steps)
    figures: list[Figure] = []
    started = load()
    for name in chosen:
        print(f"running {name} (load {load()}) ...", file=sys.stderr, flush=True)
        try:
            figures += steps[name]()
        except Exception:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            figures.append(Figure(name, "error (see stderr)", "—", None, "—", False))
    print(f"load average 1/5 min: {started} at the start, {load()} at the end\n")
    print_table(figures)


if __name__ == "__main__":
    main()
