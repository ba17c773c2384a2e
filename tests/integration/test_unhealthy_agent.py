"""An agent down or unhealthy at several checks in a row (issue 18, item 2) on a sandbox
host: real supervisord stops or breaks the agent, the emulator offers (or holds) a target,
nginx serves it. Said always; acted on only when policy.recover_unhealthy is on."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from engine.clock import ManualClock
from engine.policy.decision import Reason
from engine.settings.model import Settings
from engine.store.history import History
from engine.store.update_yaml import load_config
from engine.update.update_pass import PassResult, UpdatePass
from engine.versions import Revision
from sandbox.emulator import ClusterEmulator
from tests.fixtures.sandboxhost import SandboxHost

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHECKS = Settings().with_text("policy.unhealthy_checks", "2")
RECOVER = CHECKS.with_text("policy.recover_unhealthy", "true")


@pytest.fixture
def cluster(emulator: ClusterEmulator) -> ClusterEmulator:
    emulator.set_cluster(edition="community", server_version="17.2.1")
    emulator.set_group("default", version="17.1.0", in_window=True, jitter=0)
    return emulator


def run_pass(host: SandboxHost, settings: Settings, minutes: int = 0) -> PassResult:
    clock = ManualClock(NOW + timedelta(minutes=minutes))
    return UpdatePass(
        host.context(clock=clock),
        settings=settings,
        clock=clock,
        rng=random.Random(7),
        sleep=lambda seconds: True,
    ).run()


def stop_agent(host: SandboxHost) -> None:
    host.supervisor.ctl("stop", "teleport")
    assert host.supervisor.state("teleport") == "STOPPED"


def test_a_down_agent_is_reported_once_when_recovery_is_off(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    stop_agent(sandbox_host)

    first = run_pass(sandbox_host, CHECKS)
    second = run_pass(sandbox_host, CHECKS, 5)
    third = run_pass(sandbox_host, CHECKS, 10)

    assert first.unhealthy is None
    assert second.unhealthy is not None and "at 2 checks in a row" in second.unhealthy
    assert "not running" in second.unhealthy
    assert third.unhealthy is None  # said once, not at every check
    health = [r for r in History(layout.state_dir).query() if r.event == "health"]
    assert [(r.outcome, r.reason) for r in health] == [("failed", "agent-unhealthy")]
    assert sandbox_host.supervisor.state("teleport") == "STOPPED"  # nothing was done


def test_recovery_applies_the_pending_update_now(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    cluster.set_group("default", version="17.2.1", in_window=False, jitter=0)
    sandbox_host.publish("17.2.1")
    stop_agent(sandbox_host)
    assert run_pass(sandbox_host, RECOVER).decision.reason is Reason.OUTSIDE_CLUSTER_WINDOW

    result = run_pass(sandbox_host, RECOVER, 5)

    assert result.decision.reason is Reason.RECOVER_UNHEALTHY
    assert "applying the pending update to 17.2.1 now" in result.decision.message
    assert result.outcome is not None and result.outcome.ok, result.outcome.message
    config = load_config(layout.update_yaml)
    assert config is not None and config.status.active == Revision.of("17.2.1")


def test_recovery_reinstalls_a_broken_active_version_when_no_update_is_pending(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.1.0")
    binary = layout.version_dir(Revision.of("17.1.0")) / "bin" / "teleport"
    stop_agent(sandbox_host)
    binary.write_text("#!/bin/sh\nexit 3\n")  # its files were damaged
    (binary.parent.parent / "sha256").write_text("0" * 64)
    run_pass(sandbox_host, RECOVER)

    result = run_pass(sandbox_host, RECOVER, 5)

    assert result.decision.reason is Reason.RECOVER_UNHEALTHY
    assert "no update is pending (up-to-date)" in result.decision.message
    assert result.outcome is not None and result.outcome.ok, result.outcome.message
    assert "17.1.0 reinstalled (its files replaced) and restarted" in result.outcome.message
    pid = sandbox_host.wait_healthy(layout)
    assert pid and sandbox_host.running_version(layout) == "17.1.0"
    last = History(layout.state_dir).query()[0]
    assert (last.event, last.outcome, last.reason) == ("recover", "succeeded", "reinstalled")
    assert run_pass(sandbox_host, RECOVER, 10).unhealthy is None  # healthy again
