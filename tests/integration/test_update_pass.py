"""Whole update passes on a sandbox host: the cluster emulator decides, nginx serves the
versions, supervisord runs the agents; the policy's answer is carried out for real."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from engine.clock import ManualClock
from engine.policy.decision import Action, Reason
from engine.policy.schedule import ExportedSchedule, Interval
from engine.service.health import read_pid
from engine.store.update_yaml import load_config, save_config
from engine.update.canary import CanaryGate, HealthWindow, canary_status
from engine.update.update_pass import UpdatePass
from engine.versions import Revision, Version
from sandbox.agentbuild import Behaviour
from sandbox.emulator import ClusterEmulator, Hostile
from sandbox.ports import wait_until
from tests.fixtures.sandboxhost import SandboxHost, readyz_pid

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NEW = Revision.of("17.2.1")
OLD = Revision.of("17.1.0")


@pytest.fixture
def cluster(emulator: ClusterEmulator) -> ClusterEmulator:
    emulator.set_cluster(edition="community", server_version="17.2.1")
    emulator.set_group("default", version="17.2.1", in_window=True, jitter=0)
    return emulator


class Sleeps:
    def __init__(self) -> None:
        self.asked: list[float] = []

    def __call__(self, seconds: float) -> bool:
        self.asked.append(seconds)
        return True


def make_pass(
    host: SandboxHost,
    namespace: str = "default",
    *,
    now: datetime = NOW,
    sleep: Callable[[float], bool] | None = None,
) -> UpdatePass:
    return UpdatePass(
        host.context(namespace),
        clock=ManualClock(now),
        rng=random.Random(7),
        sleep=sleep or Sleeps(),
    )


def running(host: SandboxHost, namespace: str) -> str:
    layout = host.layouts[namespace]
    pid = host.wait_healthy(layout)
    assert readyz_pid(layout) == pid
    return host.running_version(layout)


def test_in_window_the_cluster_target_is_installed_after_the_jitter(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    cluster.set_group("default", jitter=90)
    sleeps = Sleeps()
    result = make_pass(sandbox_host, sleep=sleeps).run(uid=0)
    assert result.decision.reason is Reason.UPDATE_IN_WINDOW
    assert result.outcome is not None and result.outcome.ok, result.outcome
    assert len(sleeps.asked) == 1 and 0 <= sleeps.asked[0] < 90
    assert running(sandbox_host, "default") == "17.2.1"
    find = [r for r in cluster.requests() if r.path == "/webapi/find"]
    assert find[-1].query["group"] == "default"
    id_text = layout.id_file.read_text().strip()
    assert find[-1].query["update_id"] == id_text


def test_a_proxy_that_sends_an_empty_server_version_is_still_followed(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    """Teleport's own updater ignores server_version; so does Shepherd when it is empty."""
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    cluster.set_cluster(server_version="")
    result = make_pass(sandbox_host).run(uid=0)
    assert result.decision.reason is Reason.UPDATE_IN_WINDOW, result.decision.message
    assert result.outcome is not None and result.outcome.ok, result.outcome
    assert running(sandbox_host, "default") == "17.2.1"


def test_a_non_semver_backup_is_kept_until_an_update_replaces_it(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    """teleport-update stores any string as a version; the agent stays manageable."""
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    config = load_config(layout.update_yaml)
    assert config is not None
    save_config(
        layout.update_yaml, config.with_status(backup=Revision(Version.opaque("old-version")))
    )
    assert "  backup:\n    version: old-version\n" in layout.update_yaml.read_text()
    sandbox_host.publish("17.2.1")

    result = make_pass(sandbox_host).run(uid=0)

    assert result.outcome is not None and result.outcome.ok, (result.decision, result.outcome)
    updated = load_config(layout.update_yaml)
    assert updated is not None
    assert (updated.status.active, updated.status.backup) == (NEW, OLD)
    assert running(sandbox_host, "default") == "17.2.1"


def test_outside_the_window_nothing_changes_unless_forced(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    cluster.set_group("default", in_window=False)
    pid = read_pid(layout.pid_file)
    waited = make_pass(sandbox_host).run()
    assert waited.decision.reason is Reason.OUTSIDE_CLUSTER_WINDOW
    assert waited.outcome is None
    assert read_pid(layout.pid_file) == pid
    assert running(sandbox_host, "default") == "17.1.0"

    sleeps = Sleeps()
    forced = make_pass(sandbox_host, sleep=sleeps).run(forced=True)
    assert forced.decision.reason is Reason.UPDATE_FORCED
    assert forced.outcome is not None and forced.outcome.ok
    assert sleeps.asked == []  # forced updates skip the jitter
    assert running(sandbox_host, "default") == "17.2.1"


@pytest.mark.parametrize("mode", [Hostile.SERVER_ERROR, Hostile.MALFORMED_JSON])
def test_an_unreachable_or_misbehaving_cluster_changes_nothing(
    sandbox_host: SandboxHost, cluster: ClusterEmulator, mode: Hostile
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    before = layout.update_yaml.read_bytes()
    pid = read_pid(layout.pid_file)
    cluster.set_mode(mode)
    result = make_pass(sandbox_host).run(forced=True)
    assert result.decision.reason is Reason.CLUSTER_UNREACHABLE
    assert result.outcome is None
    assert layout.update_yaml.read_bytes() == before
    assert read_pid(layout.pid_file) == pid


def test_pinned_and_disabled_agents_are_left_alone(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    config = load_config(layout.update_yaml)
    assert config is not None
    save_config(layout.update_yaml, config.with_spec(pinned=True))
    pinned = make_pass(sandbox_host).run(forced=True)
    assert pinned.decision.reason is Reason.PINNED
    assert pinned.outcome is None

    save_config(layout.update_yaml, config.with_spec(enabled=False))
    cluster.clear_requests()
    disabled = make_pass(sandbox_host).run(forced=True)
    assert disabled.decision.reason is Reason.DISABLED
    assert cluster.requests() == []  # step 1: no request at all
    assert running(sandbox_host, "default") == "17.1.0"


def test_a_version_that_failed_here_is_not_tried_again(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1", Behaviour(crash_at_start=True))
    first = make_pass(sandbox_host).run()
    assert first.outcome is not None and not first.outcome.ok
    second = make_pass(sandbox_host).run(forced=True)
    assert second.decision.reason is Reason.TARGET_SKIPPED
    assert "marked broken" in second.decision.message
    assert second.outcome is None
    assert running(sandbox_host, "default") == "17.1.0"
    assert not (layout.versions_dir / "17.2.1").exists()


def test_v1_critical_update_happens_outside_the_maintenance_window(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    cluster.set_cluster(manages_agents=False)
    tomorrow = Interval(NOW + timedelta(hours=20), NOW + timedelta(hours=21))
    layout.schedule_file.parent.mkdir(parents=True, exist_ok=True)
    layout.schedule_file.write_text(ExportedSchedule((tomorrow,)).render())

    cluster.set_channel(version="17.2.1", critical=False)
    waiting = make_pass(sandbox_host).run()
    assert waiting.decision.reason is Reason.OUTSIDE_MAINTENANCE_WINDOW, waiting.decision.message
    assert waiting.decision.next_check == tomorrow.start
    assert running(sandbox_host, "default") == "17.1.0"

    cluster.set_channel(version="17.2.1", critical=True)
    critical = make_pass(sandbox_host).run()
    assert critical.decision.reason is Reason.UPDATE_CRITICAL
    assert critical.outcome is not None and critical.outcome.ok
    assert running(sandbox_host, "default") == "17.2.1"


def test_v1_missing_schedule_updates_on_the_second_strike(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    cluster.set_cluster(manages_agents=False)
    cluster.set_channel(version="17.2.1", critical=False)
    first = make_pass(sandbox_host).run()
    assert first.decision.reason is Reason.UNHEALTHY_FIRST_STRIKE
    assert running(sandbox_host, "default") == "17.1.0"
    second = make_pass(sandbox_host).run()
    assert second.decision.reason is Reason.UPDATE_AGENT_UNHEALTHY
    assert second.outcome is not None and second.outcome.ok
    assert running(sandbox_host, "default") == "17.2.1"


def test_dry_run_decides_but_changes_nothing(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    before = layout.update_yaml.read_bytes()
    result = make_pass(sandbox_host).run(dry_run=True)
    assert result.decision.action is Action.UPDATE
    assert result.outcome is None
    assert layout.update_yaml.read_bytes() == before
    assert not (layout.versions_dir / "17.2.1").exists()


# ---- host-local canary ---------------------------------------------------------------------
def three_agents(host: SandboxHost, cluster: ClusterEmulator) -> CanaryGate:
    for namespace in ("staging", "prod-a", "prod-b"):
        host.add_agent(namespace, proxy=cluster.proxy_addr)
    return CanaryGate(["staging"], timedelta(hours=1), lambda ns: canary_status(host.layouts[ns]))


def test_a_canary_failure_halts_the_other_agents(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    gate = three_agents(sandbox_host, cluster)
    sandbox_host.publish("17.2.1", Behaviour(never_ready=True))
    results = {ns: make_pass(sandbox_host, ns).run(gate=gate) for ns in sandbox_host.layouts}
    canary = results["staging"]
    assert canary.outcome is not None and not canary.outcome.ok
    for namespace in ("prod-a", "prod-b"):
        assert results[namespace].decision.reason is Reason.CANARY_FAILED
        assert "'staging' failed version 17.2.1" in results[namespace].decision.message
        assert results[namespace].outcome is None
    for namespace in sandbox_host.layouts:
        assert running(sandbox_host, namespace) == "17.1.0"


def test_the_others_follow_the_canary_after_the_soak(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    gate = three_agents(sandbox_host, cluster)
    sandbox_host.publish("17.2.1")
    before = make_pass(sandbox_host, "prod-a").run(gate=gate)
    assert before.decision.reason is Reason.CANARY_PENDING
    canary = make_pass(sandbox_host, "staging").run(gate=gate)
    assert canary.outcome is not None and canary.outcome.ok

    config = load_config(sandbox_host.layouts["staging"].update_yaml)
    assert config is not None and config.status.last_update is not None
    updated = config.status.last_update.time
    assert updated is not None
    soaking = make_pass(sandbox_host, "prod-a", now=updated + timedelta(minutes=10)).run(gate=gate)
    assert soaking.decision.reason is Reason.CANARY_SOAKING
    assert soaking.decision.next_check == updated + timedelta(hours=1)
    assert running(sandbox_host, "prod-a") == "17.1.0"

    later = updated + timedelta(hours=1, minutes=1)
    for namespace in ("prod-a", "prod-b"):
        result = make_pass(sandbox_host, namespace, now=later).run(gate=gate)
        assert result.outcome is not None and result.outcome.ok, result.decision.message
        assert running(sandbox_host, namespace) == "17.2.1"


def test_a_pin_during_the_jitter_cancels_the_update_under_the_lock(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    layout = sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    cluster.set_group("default", jitter=600)

    def pin_while_waiting(seconds: float) -> bool:
        config = load_config(layout.update_yaml)
        assert config is not None
        save_config(layout.update_yaml, config.with_spec(pinned=True))  # as teleport-update pin
        return True

    result = make_pass(sandbox_host, sleep=pin_while_waiting).run()
    assert result.decision.reason is Reason.UPDATE_IN_WINDOW
    assert result.outcome is not None and result.outcome.cancelled
    assert "pinned meanwhile" in result.outcome.message
    assert not result.failed
    assert running(sandbox_host, "default") == "17.1.0"
    assert not (layout.versions_dir / "17.2.1").exists()


def test_a_canary_keeps_its_soak_after_failing_a_later_version(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    gate = three_agents(sandbox_host, cluster)
    sandbox_host.publish("17.2.1")
    canary = make_pass(sandbox_host, "staging").run(gate=gate)
    assert canary.outcome is not None and canary.outcome.ok
    updated = datetime.now(UTC)

    sandbox_host.publish("17.2.2", Behaviour(crash_at_start=True))
    cluster.set_group("default", version="17.2.2")
    failed = make_pass(sandbox_host, "staging").run(gate=gate)
    assert failed.outcome is not None and not failed.outcome.ok

    cluster.set_group("default", version="17.2.1")  # the cluster goes back
    soon = updated + timedelta(minutes=10)
    soaking = make_pass(sandbox_host, "prod-a", now=soon).run(gate=gate)
    assert soaking.decision.reason is Reason.CANARY_SOAKING, soaking.decision.message
    assert running(sandbox_host, "prod-a") == "17.1.0"


def test_a_canary_caught_reloading_does_not_hold_the_others(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    staging = sandbox_host.add_agent(
        "staging",
        active="17.2.1",
        behaviours={"17.2.1": Behaviour(ready_after=3)},
        proxy=cluster.proxy_addr,
    )
    sandbox_host.add_agent("prod-a", proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    gate = CanaryGate(
        ["staging"], timedelta(hours=1), lambda ns: canary_status(sandbox_host.layouts[ns])
    )
    before = read_pid(staging.pid_file)
    sandbox_host.supervisor.ctl("signal", "HUP", staging.unit_name)  # re-exec: 3 s not ready
    wait_until(lambda: read_pid(staging.pid_file) not in (None, before), 20, "staging to re-exec")
    assert readyz_pid(staging) != read_pid(staging.pid_file)  # one probe now would miss it

    result = make_pass(sandbox_host, "prod-a").run(gate=gate)
    assert result.decision.reason is Reason.UPDATE_IN_WINDOW, result.decision.message
    assert result.outcome is not None and result.outcome.ok, result.outcome
    assert running(sandbox_host, "prod-a") == "17.2.1"


def test_a_canary_that_stays_down_holds_the_others(
    sandbox_host: SandboxHost, cluster: ClusterEmulator
) -> None:
    staging = sandbox_host.add_agent("staging", active="17.2.1", proxy=cluster.proxy_addr)
    sandbox_host.add_agent("prod-a", proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    sandbox_host.supervisor.ctl("stop", staging.unit_name)
    window = HealthWindow(seconds=1, probe_every=0.1)
    gate = CanaryGate(
        ["staging"],
        timedelta(hours=1),
        lambda ns: canary_status(sandbox_host.layouts[ns], window=window),
    )
    result = make_pass(sandbox_host, "prod-a").run(gate=gate)
    assert result.decision.reason is Reason.CANARY_PENDING
    assert "'staging' runs 17.2.1 but was not running and ready at any probe for 1 s" in (
        result.decision.message
    )
    assert result.outcome is None
    assert running(sandbox_host, "prod-a") == "17.1.0"
