"""``update_unavailability.py --systemd``: part (a) on a booted systemd host.

The agent runs as ``teleport.service`` under a real systemd (``sandbox.systemd_host``); a
full Shepherd update (run inside the host with the systemd backend: download from the nginx
CDN on 127.0.0.1, install, switch, unit copy, daemon-reload, ``systemctl reload``, health
check) is compared with a plain ``systemctl restart teleport.service``, alternating. The
/readyz poller runs on this machine, through the guest's root (``/proc/<pid>/root``).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.service.health import readyz
from engine.store.layout import Layout
from sandbox.agentbuild import build_artifact
from sandbox.cdn import Cdn
from sandbox.certs import SandboxCA
from sandbox.debian_root import RootRecipe, ensure_root
from sandbox.systemd_host import Bind, SystemdHost

REPO = Path(__file__).resolve().parents[1]
GUEST_CA = "/etc/shepherd-bench/ca.pem"
ROOT_PYTHON = "/usr/bin/python3"

__all__ = ["run_systemd"]

_UPDATE = """
import sys
from pathlib import Path
from engine.service.health import HealthConfig
from engine.update.host import HostConfig
from engine.update.transaction import Transaction
from engine.versions import Revision
host = HostConfig(root=Path("/"), service="systemd", ca_bundle=Path({ca!r}), base_url={url!r},
                  arch="amd64", health=HealthConfig(poll_seconds={poll}, timeout_seconds={timeout}))
with host.client() as client:
    outcome = Transaction(host.context("default", client)).update(Revision.of({version!r}))
print(outcome.seconds)
sys.exit(0 if outcome.ok else 1)
"""


def _guest_poller(poller_type: type[Any]) -> type[Any]:
    """The poller, matching /readyz's PID with the PID file's text: both are PIDs of the
    guest's own PID namespace, which liveness checks from out here cannot see."""

    class GuestPoller(poller_type):  # type: ignore[misc,valid-type]
        def _poll(self) -> bool:
            try:
                status, body = readyz(self.layout.debug_socket, 1.0)
                pid_text = self.layout.pid_file.read_text().strip()
            except OSError:
                return False
            return status == 200 and body is not None and str(body.get("pid")) == pid_text

    return GuestPoller


def run_systemd(
    args: argparse.Namespace,
    poller_type: type[Any],
    summary: Callable[[list[float]], str],
    ms: Callable[[float], str],
) -> None:
    """Boot a host, lay the agent out, then alternate restarts and updates."""
    targets = [f"17.2.{n}" for n in range(1, args.runs + 1)]
    with tempfile.TemporaryDirectory(prefix="shb-") as tmp:
        base = Path(tmp)
        ca = SandboxCA.create(base / "ca")
        (base / "cdn").mkdir()
        for version in targets:
            build_artifact(base / "cdn", version, interpreter=ROOT_PYTHON)
        root = ensure_root(RootRecipe.default())
        host_dir = Path(tempfile.mkdtemp(prefix="shepherd-bench-systemd-", dir="/var/tmp"))
        try:
            _boot_and_measure(root, host_dir, base, ca, targets, args, poller_type, summary, ms)
        finally:
            shutil.rmtree(host_dir, ignore_errors=True)


def _boot_and_measure(
    root: Path,
    host_dir: Path,
    base: Path,
    ca: SandboxCA,
    targets: list[str],
    args: argparse.Namespace,
    poller_type: type[Any],
    summary: Callable[[list[float]], str],
    ms: Callable[[float], str],
) -> None:
    with (
        Cdn(base / "cdn", ca.server_pair(), workdir=base / "nginx") as cdn,
        SystemdHost(root, host_dir, binds=[Bind(REPO, "/src")]) as host,
    ):
        target = host.path(GUEST_CA)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(ca.ca_path).read_bytes())
        host.python(
            "from pathlib import Path\n"
            "from sandbox.hostlayout import lay_out_teleport_update_host\n"
            "lay_out_teleport_update_host(Path('/'), Path('/var/tmp/artifacts'), "
            f"interpreter={ROOT_PYTHON!r})\n"
        )
        host.systemctl("daemon-reload")
        host.systemctl("enable", "--now", "teleport.service")
        layout = Layout.resolve(host.path("/"), "default")
        poller = _guest_poller(poller_type)
        _measure(host, layout, targets, args, cdn.base_url, poller, summary, ms)


def _measure(
    host: SystemdHost,
    layout: Layout,
    targets: list[str],
    args: argparse.Namespace,
    base_url: str,
    poller_type: type[Any],
    summary: Callable[[list[float]], str],
    ms: Callable[[float], str],
) -> None:
    print(
        f"systemd host: health check poll {args.poll_seconds:g} s, timeout "
        f"{args.timeout_seconds:g} s; /readyz polled every {args.interval * 1000:g} ms"
    )
    with poller_type(layout, args.interval) as poller:
        poller.first_ok_after(time.monotonic() - 60)
        updates, restarts = [], []
        for version in targets:
            start = time.monotonic()
            host.systemctl("restart", "teleport.service")
            restarts.append(poller.longest_outage(start, poller.first_ok_after(time.monotonic())))
            start = time.monotonic()
            script = _UPDATE.format(
                ca=GUEST_CA,
                url=base_url,
                version=version,
                poll=args.poll_seconds,
                timeout=args.timeout_seconds,
            )
            done = host.python(script, check=False, timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"update to {version} failed: {done.stdout}{done.stderr}")
            updates.append(poller.longest_outage(start, poller.first_ok_after(time.monotonic())))
            print(
                f"  run {len(updates)}: systemctl restart {ms(restarts[-1])}   update -> "
                f"{version} {ms(updates[-1])}  (update took {float(done.stdout.split()[-1]):.1f} s)"
            )
        print("(a, systemd) longest /readyz outage per run:")
        print(f"  systemctl restart     : {summary(restarts)}")
        print(f"  shepherd update       : {summary(updates)}")
        ratio = statistics.median(updates) / max(statistics.median(restarts), 1e-3)
        print(f"  ratio update/restart  : {ratio:.2f}  (target <= 1.20)")
