"""A package agent end to end: recognised from the dpkg database, updated by the v1 policy
with apt from the signed repository, restarted under a real service manager and
health-checked; a crashing version rolled back automatically; one-click rollback; history.

The packages are installed in a real Debian root (chroot) and the installed
``/usr/local/bin/teleport`` runs under supervisord from there (the root is not booted; the
booted systemd host is where ``systemctl try-restart teleport`` would do this).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.packages import AptBackend, PackageRepo, Runner
from engine.packages.detect import detect_package_agent
from engine.policy.answers import ChannelAnswer
from engine.policy.decision import Action, Reason
from engine.policy.inputs import LocalSettings
from engine.service.health import HealthCheck, HealthConfig
from engine.service.supervisor import Supervisord
from engine.sources.channel import ChannelClient
from engine.sources.transport import TransportConfig, make_client
from engine.store.history import History
from engine.update.package_pass import PackageContext, PackagePass
from sandbox.agentbuild import write_agent_config
from sandbox.emulator import ClusterEmulator
from sandbox.supervisor import Supervisor
from tests.fixtures.packages import PackageRepos

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

FAST = HealthConfig(poll_seconds=0.2, stable_polls=4, max_changes=2, timeout_seconds=30)


@pytest.fixture
def package_host(
    package_repos: PackageRepos,
    apt_root: Path,
    tmp_path: Path,
    supervisord: Supervisor,
    emulator: ClusterEmulator,
) -> Iterator[PackagePass]:
    repo = PackageRepo(
        "teleport",
        package_repos.apt_url(),
        package_repos.trusted_key.public_gpg,
        ca_bundle=package_repos.ca,
    )
    apt = AptBackend(repo, Runner(root=apt_root, chroot=True, timeout=300), lock_wait=10)
    apt.configure()
    apt.install_exact("teleport", "17.2.1")  # what Teleport's install script would have done
    upgrade_dir = apt_root / "etc/teleport-upgrade.d"
    upgrade_dir.mkdir(parents=True)
    (upgrade_dir / "package").write_text("teleport\n")
    (upgrade_dir / "endpoint").write_text(
        f"{emulator.proxy_addr}/v1/webapi/automaticupgrades/channel/stable/cloud\n"
    )

    agent = detect_package_agent(apt.runner)
    assert agent is not None and agent.package == "teleport" and agent.database == "dpkg"
    assert agent.state.version == "17.2.1"

    data = tmp_path / "data"
    config = tmp_path / "teleport.yaml"
    pid_file = tmp_path / "teleport.pid"
    write_agent_config(config, data)
    supervisord.add_program(
        "teleport",
        [
            str(apt_root / "usr/local/bin/teleport"),
            "start",
            "--config",
            str(config),
            "--pid-file",
            str(pid_file),
        ],
    )
    client = make_client(TransportConfig(ca_bundle=package_repos.ca))
    ctx = PackageContext(
        agent=agent,
        backend=apt,
        service=Supervisord(supervisord.config_path),
        health=HealthCheck(FAST),
        state_dir=tmp_path / "shepherd-state",
        pid_file=pid_file,
        debug_socket=data / "debug.sock",
    )
    with client:
        yield PackagePass(
            ctx,
            lambda: ChannelClient(client, proxy_address=emulator.proxy_addr).get(),
            LocalSettings(),
        )


def test_critical_update_outside_any_window_then_crash_rolls_back_then_one_click_rollback(
    package_host: PackagePass, emulator: ClusterEmulator
) -> None:
    history = History(package_host.ctx.state_dir)
    apt = package_host.ctx.backend
    # no exported schedule: first strike only
    emulator.set_channel("stable/cloud", version="17.3.0", critical=False)
    first = package_host.run()
    assert first.decision.reason is Reason.UNHEALTHY_FIRST_STRIKE
    assert apt.installed("teleport").version == "17.2.1"  # type: ignore[union-attr]

    emulator.set_channel("stable/cloud", version="17.3.0", critical=True)
    updated = package_host.run()
    assert updated.decision.reason is Reason.UPDATE_CRITICAL
    assert updated.event == "updated", updated.message
    assert apt.installed("teleport").version == "17.3.0"  # type: ignore[union-attr]
    assert apt.is_locked("teleport")

    emulator.set_channel("stable/cloud", version="17.4.0", critical=True)  # crashes at start
    crashed = package_host.run()
    assert crashed.event == "rolled-back", crashed.message
    assert apt.installed("teleport").version == "17.3.0"  # type: ignore[union-attr]
    again = package_host.explain()
    assert again.action is Action.NOTHING and again.reason is Reason.TARGET_SKIPPED

    back = package_host.rollback(reason="17.3.0 breaks our plugin")
    assert back.event == "updated", back.message
    assert apt.installed("teleport").version == "17.2.1"  # type: ignore[union-attr]
    assert apt.is_locked("teleport")

    outcomes = [(r.event, r.outcome, r.to_revision) for r in history.query()]
    assert ("update", "succeeded", "17.3.0") in outcomes
    assert ("update", "rolled-back", "17.4.0") in outcomes
    assert ("rollback", "succeeded", "17.2.1") in outcomes

    package_host.hand_back()
    assert not apt.is_locked("teleport")


def test_a_pin_given_while_a_pass_runs_stops_it_before_the_install(
    package_host: PackagePass, emulator: ClusterEmulator
) -> None:
    """The admin pins the agent after the pass read its spec (here: while it asks the
    channel): the pass checks again before installing and installs nothing."""
    emulator.set_channel("stable/cloud", version="17.3.0", critical=True)
    asked = package_host.channel

    def channel_then_pin() -> ChannelAnswer:
        answer = asked()
        PackagePass.save_spec(package_host.ctx.state_dir, {"pinned": True})
        return answer

    package_host.channel = channel_then_pin
    done = package_host.run()
    assert done.decision.reason is Reason.UPDATE_CRITICAL
    assert done.event == "cancelled", done.message
    assert "pinned while the update was being prepared" in done.message
    assert package_host.ctx.backend.installed("teleport").version == "17.2.1"  # type: ignore[union-attr]
    package_host.channel = asked
    assert package_host.run().decision.reason is Reason.PINNED
    [record] = History(package_host.ctx.state_dir).query(event="update")
    assert record.outcome == "cancelled"
