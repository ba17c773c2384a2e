"""Kinder handling of failed versions (issue 18, item 2) on a sandbox host: the cluster
emulator offers a version, nginx serves it, supervisord runs the agent; the clock is
injected, so a cool-down of a day passes without waiting."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from engine.clock import ManualClock
from engine.policy.decision import Action, Reason
from engine.settings.model import Settings
from engine.store.agent_record import load_agent_record
from engine.store.history import History
from engine.store.update_yaml import load_config
from engine.update.update_pass import PassResult, UpdatePass
from engine.versions import Revision
from sandbox.agentbuild import Behaviour
from sandbox.emulator import ClusterEmulator
from tests.fixtures.sandboxhost import SandboxHost

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NEW = Revision.of("17.2.1")
OLD = Revision.of("17.1.0")


@pytest.fixture
def cluster(emulator: ClusterEmulator) -> ClusterEmulator:
    emulator.set_cluster(edition="community", server_version="17.2.1")
    emulator.set_group("default", version="17.2.1", in_window=True, jitter=0)
    return emulator


def run_pass(
    host: SandboxHost, at: datetime, settings: Settings | None = None, **run: bool
) -> PassResult:
    clock = ManualClock(at)  # the pass decides, and the transaction records, at ``at``
    return UpdatePass(
        host.context(clock=clock),
        settings=settings,
        clock=clock,
        rng=random.Random(7),
        sleep=lambda seconds: True,
    ).run(**run)


def active(host: SandboxHost) -> Revision | None:
    config = load_config(host.layouts["default"].update_yaml)
    assert config is not None
    return config.status.active


FAILURES = [
    ("crashed at start", Behaviour(crash_at_start=True), "crashed-at-start", "crashed at start"),
    ("never ready", Behaviour(never_ready=True), "never-ready", "never became ready"),
    ("restart loop", Behaviour(crash_after=0.1), "restart-loop", "kept restarting"),
]


@pytest.mark.parametrize(
    ("behaviour", "kind", "words"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES]
)
def test_why_a_version_failed_is_recorded_in_history_and_the_agent_record(
    sandbox_host: SandboxHost,
    cluster: ClusterEmulator,
    behaviour: Behaviour,
    kind: str,
    words: str,
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1", behaviour)

    result = run_pass(sandbox_host, NOW)

    assert result.outcome is not None and not result.outcome.ok
    failed = History(layout.state_dir).query()[0]
    assert (failed.event, failed.outcome) == ("update", "failed")
    assert failed.extra["failure"] == kind and failed.extra["failure_words"] == words
    record = load_agent_record(layout.state_dir).failed["17.2.1"]
    assert (record.kind, record.tries) == (kind, 1)
    assert record.time == NOW.isoformat()


def test_an_install_error_is_recorded_as_such(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    name = "teleport-v17.2.1-linux-amd64-bin.tar.gz"
    (sandbox_host.cdn.root / f"{name}.sha256").write_text("0" * 64 + f"  {name}\n")

    run_pass(sandbox_host, NOW)

    assert load_agent_record(layout.state_dir).failed["17.2.1"].kind == "install-error"
    assert History(layout.state_dir).query()[0].extra["failure"] == "install-error"


def test_a_failed_version_is_tried_again_after_the_cool_down_and_can_then_succeed(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1", Behaviour(crash_at_start=True))
    assert run_pass(sandbox_host, NOW).outcome is not None

    waiting = run_pass(sandbox_host, NOW + timedelta(hours=23), forced=True)
    assert waiting.decision.reason is Reason.TARGET_SKIPPED and waiting.outcome is None
    assert waiting.decision.retry_at == NOW + timedelta(hours=24)
    assert "crashed at start" in waiting.decision.message
    assert "tried again from 2026-11-26 12:00 UTC (try 2 of 3)" in waiting.decision.message

    sandbox_host.publish("17.2.1")  # the cluster's build was fixed meanwhile
    retried = run_pass(sandbox_host, NOW + timedelta(hours=24, minutes=1))

    assert retried.decision.action is Action.UPDATE and retried.decision.retrying
    assert "tried again (try 2 of 3)" in retried.decision.message
    assert retried.outcome is not None and retried.outcome.ok, retried.outcome.message
    assert active(sandbox_host) == NEW
    config = load_config(layout.update_yaml)
    assert config is not None and config.status.skip is None
    assert "17.2.1" not in load_agent_record(layout.state_dir).failed


def test_a_retry_waits_for_the_cluster_window(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1", Behaviour(crash_at_start=True))
    run_pass(sandbox_host, NOW)
    cluster.set_group("default", version="17.2.1", in_window=False, jitter=0)

    later = run_pass(sandbox_host, NOW + timedelta(days=2))

    assert later.decision.reason is Reason.OUTSIDE_CLUSTER_WINDOW
    assert later.outcome is None and active(sandbox_host) == OLD


def test_after_the_last_try_a_failed_version_waits_for_an_admin(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1", Behaviour(crash_at_start=True))
    settings = Settings().with_text("policy.retry_failed_max", "2")
    assert run_pass(sandbox_host, NOW, settings).outcome is not None
    second = run_pass(sandbox_host, NOW + timedelta(days=1), settings)
    assert second.outcome is not None and not second.outcome.ok
    assert load_agent_record(layout.state_dir).failed["17.2.1"].tries == 2

    much_later = run_pass(sandbox_host, NOW + timedelta(days=30), settings)

    assert much_later.decision.reason is Reason.TARGET_SKIPPED
    assert much_later.decision.retry_at is None and much_later.outcome is None
    assert "after 2 tries" in much_later.decision.message
    assert "shepherd clear-bad 17.2.1" in much_later.decision.message
    assert active(sandbox_host) == OLD


def test_retries_can_be_turned_off(sandbox_host: SandboxHost, cluster: ClusterEmulator) -> None:
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1", Behaviour(crash_at_start=True))
    settings = Settings().with_text("policy.retry_failed_after", "0s")
    run_pass(sandbox_host, NOW, settings)

    later = run_pass(sandbox_host, NOW + timedelta(days=10), settings)

    assert later.decision.reason is Reason.TARGET_SKIPPED and later.outcome is None
