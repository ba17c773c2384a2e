"""Benchmark: how long an agent stops answering /readyz during an update, and how fast a bad
version is undone.

Everything is real and local: the nginx TLS CDN, supervisord, testbed agents (the fake
``teleport`` re-execs on SIGHUP and serves /readyz on ``<data_dir>/debug.sock``).

(a) Unavailability: a poller asks ``GET /readyz`` every ``--interval`` (10 ms); the figure
    for one run is the longest stretch from a poll that did not get 200 to the next poll that
    did. A full Shepherd update (checksum, download, install, switch, reload, health check)
    is compared with a plain ``supervisorctl restart`` of the same agent, alternating, and
    the ratio of the medians is printed (target <= 1.2).
(b) Automatic rollback: a broken version (crashes at start / never ready) is installed; the
    figure is the time from the health check's failed verdict to the old version answering
    /readyz 200 for the PID in the PID file. Detection time (reload -> verdict) is printed
    beside it; it is what the health config makes it.

The health check uses the real configuration (PROTOCOL §3 step 5: 2 s polls, 6 stable polls,
60 s) unless ``--poll-seconds`` / ``--timeout-seconds`` make it faster.

    .venv/bin/python bench/update_unavailability.py [--runs 5] [--rollback-runs 3]
        [--poll-seconds 2] [--timeout-seconds 60] [--interval 0.01] [--systemd]

``--systemd`` measures (a) on a booted systemd host instead, against ``systemctl restart``
(root; see ``bench/systemd_unavailability.py``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.install.links import linked_revision  # noqa: E402
from engine.service.health import (  # noqa: E402
    HealthCheck,
    HealthConfig,
    HealthResult,
    UnitStatus,
    read_pid,
    readyz,
)
from engine.store.layout import Layout  # noqa: E402
from engine.update.transaction import Transaction  # noqa: E402
from engine.versions import Revision  # noqa: E402
from sandbox.agentbuild import Behaviour  # noqa: E402
from sandbox.cdn import Cdn  # noqa: E402
from sandbox.certs import SandboxCA  # noqa: E402
from sandbox.supervisor import Supervisor  # noqa: E402
from tests.fixtures.sandboxhost import SandboxHost  # noqa: E402


@dataclass
class Sample:
    at: float
    ok: bool  # /readyz answered 200 for the PID in the PID file


@dataclass
class ReadyzPoller:
    """Polls /readyz on the agent's debug socket in a thread, recording every answer."""

    layout: Layout
    interval: float
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _poll(self) -> bool:
        try:
            status, body = readyz(self.layout.debug_socket, 1.0)
        except OSError:
            return False
        if status != 200 or body is None:
            return False
        return body.get("pid") == read_pid(self.layout.pid_file)

    def _run(self) -> None:
        while not self._stop.is_set():
            at = time.monotonic()
            self.samples.append(Sample(at, self._poll()))
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - at)))

    def __enter__(self) -> ReadyzPoller:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def window(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.at <= end]

    def longest_outage(self, start: float, end: float) -> float:
        """The longest stretch from a failed poll to the next good one, within the window."""
        longest, down_since = 0.0, None
        for sample in self.window(start, end):
            if not sample.ok and down_since is None:
                down_since = sample.at
            elif sample.ok and down_since is not None:
                longest = max(longest, sample.at - down_since)
                down_since = None
        if down_since is not None:
            raise RuntimeError("the agent was still not answering at the end of the window")
        return longest

    def ready_for_good(self, start: float, end: float) -> tuple[float, int]:
        """When the agent last came back within the window (it answers from then to ``end``),
        and how many outages it had after ``start``."""
        since, outages, down = start, 0, True
        for sample in self.window(start, end):
            if sample.ok and down:
                since, down = sample.at, False
            elif not sample.ok and not down:
                outages, down = outages + 1, True
        return since, outages

    def first_ok_after(self, start: float, timeout: float = 120) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for sample in self.window(start, float("inf")):
                if sample.ok:
                    return sample.at
            time.sleep(self.interval)
        raise TimeoutError("the agent never answered /readyz again")


class TimedHealth(HealthCheck):
    """The real health check, noting when it reached its verdict."""

    verdict_at = 0.0

    def check(
        self,
        pid_file: Path,
        socket_path: Path,
        before: int | None,
        *,
        service: UnitStatus | None = None,
        unit: str | None = None,
    ) -> HealthResult:
        result = super().check(pid_file, socket_path, before, service=service, unit=unit)
        self.verdict_at = time.monotonic()
        return result


def settle(poller: ReadyzPoller, host: SandboxHost, layout: Layout) -> float:
    """Wait until the agent is healthy; return when it first was, per the poller."""
    host.wait_healthy(layout)
    return poller.first_ok_after(time.monotonic() - 0.001)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.0f} ms"


def summary(values: list[float]) -> str:
    return f"median {ms(statistics.median(values))}, max {ms(max(values))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="updates and restarts, each")
    parser.add_argument("--rollback-runs", type=int, default=3, help="per broken behaviour")
    parser.add_argument("--poll-seconds", type=float, default=HealthConfig.poll_seconds)
    parser.add_argument("--timeout-seconds", type=float, default=HealthConfig.timeout_seconds)
    parser.add_argument("--interval", type=float, default=0.01, help="/readyz poll interval")
    parser.add_argument(
        "--systemd", action="store_true", help="(a) on a booted systemd host (needs root)"
    )
    args = parser.parse_args()
    if args.systemd:
        from bench.systemd_unavailability import run_systemd  # noqa: PLC0415

        run_systemd(args, ReadyzPoller, summary, ms)
        return
    health_config = HealthConfig(
        poll_seconds=args.poll_seconds, timeout_seconds=args.timeout_seconds
    )
    # A short root: the agent's debug socket path must fit in 107 bytes.
    with tempfile.TemporaryDirectory(prefix="shb-") as tmp:
        base = Path(tmp)
        ca = SandboxCA.create(base / "ca")
        with (
            Cdn(base / "cdn", ca.server_pair(), workdir=base / "nginx") as cdn,
            Supervisor(base / "supervisor") as supervisor,
        ):
            host = SandboxHost(base / "host", base / "host-artifacts", ca, cdn, supervisor)
            try:
                run(host, args, health_config)
            finally:
                host.close()


def run(host: SandboxHost, args: argparse.Namespace, health_config: HealthConfig) -> None:
    layout = host.add_agent()
    targets = [f"17.2.{n}" for n in range(1, args.runs + 1)]
    for version in targets:
        host.publish(version)
    health = TimedHealth(health_config)
    ctx = host.context(health=health, lock_timeout=30)
    print(
        f"health check: poll {health_config.poll_seconds:g} s, {health_config.stable_polls} "
        f"stable polls, timeout {health_config.timeout_seconds:g} s; /readyz polled every "
        f"{args.interval * 1000:g} ms"
    )
    with ReadyzPoller(layout, args.interval) as poller:
        settle(poller, host, layout)
        updates, restarts = [], []
        for version in targets:
            start = time.monotonic()
            supervisor_result = host.supervisor.ctl("restart", layout.unit_name)
            assert "started" in supervisor_result.stdout, supervisor_result.stdout
            restarts.append(poller.longest_outage(start, settle(poller, host, layout)))

            start = time.monotonic()
            outcome = Transaction(ctx).update(Revision.of(version))
            if not outcome.ok:
                raise RuntimeError(f"update to {version} failed: {outcome.message}")
            updates.append(poller.longest_outage(start, settle(poller, host, layout)))
            print(
                f"  run {len(updates)}: restart {ms(restarts[-1])}   update -> {version} "
                f"{ms(updates[-1])}  (update took {outcome.seconds:.1f} s)"
            )
        print("(a) longest /readyz outage per run:")
        print(f"  supervisorctl restart : {summary(restarts)}")
        print(f"  shepherd update       : {summary(updates)}")
        ratio = statistics.median(updates) / statistics.median(restarts)
        print(f"  ratio update/restart  : {ratio:.2f}  (target <= 1.20)")

        broken = {
            "crash at start": ("17.3.0", Behaviour(crash_at_start=True)),
            "never ready": ("17.3.1", Behaviour(never_ready=True)),
        }
        print("(b) broken version -> automatic rollback:")
        for name, (version, behaviour) in broken.items():
            host.publish(version, behaviour)
            recovered, detected, outages, verdicts = [], [], [], set()
            flapped: list[int] = []
            for _ in range(args.rollback_runs):
                good = linked_revision(layout)
                start = time.monotonic()
                outcome = Transaction(ctx).update(Revision.of(version))
                if outcome.ok or outcome.health is None:
                    raise RuntimeError(f"{name}: expected a failed health check: {outcome}")
                end = settle(poller, host, layout)
                assert linked_revision(layout) == good, "the old version is not linked again"
                back, flaps = poller.ready_for_good(health.verdict_at, end)
                recovered.append(back - health.verdict_at)
                detected.append(outcome.health.elapsed)
                verdicts.add(outcome.health.reason)
                outages.append(poller.longest_outage(start, end))
                flapped.append(flaps)
            print(f"  {name} ({', '.join(sorted(verdicts))}):")
            print(f"    failed verdict -> old version ready : {summary(recovered)}")
            print(f"    outages after the old version was back: {flapped}")
            print(f"    reload -> failed verdict (detection) : {summary(detected)}")
            print(f"    longest /readyz outage in the update : {summary(outages)}")


if __name__ == "__main__":
    main()
