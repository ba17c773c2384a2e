"""The update transaction on a sandbox host: real supervisord, agents, nginx CDN."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ShepherdError
from engine.install.links import linked_revision
from engine.install.revisions import install_revision
from engine.service.health import read_pid
from engine.store.agent_record import load_agent_record, save_agent_record
from engine.store.history import History
from engine.store.update_yaml import load_config, save_config
from engine.update.transaction import Transaction
from engine.versions import Revision
from sandbox.agentbuild import Behaviour, build_artifact
from tests.fixtures.sandboxhost import SandboxHost, readyz_pid

pytestmark = pytest.mark.integration
OLD = Revision.of("17.1.0")
NEW = Revision.of("17.2.1")


def assert_running(host: SandboxHost, namespace: str, version: str) -> None:
    layout = host.layouts[namespace]
    pid = host.wait_healthy(layout)
    assert readyz_pid(layout) == pid
    assert host.running_version(layout) == version
    assert host.supervisor.state(layout.unit_name) == "RUNNING"
    assert linked_revision(layout) == version


def test_a_good_update(sandbox_host: SandboxHost) -> None:
    layout = sandbox_host.add_agent()
    before = read_pid(layout.pid_file)
    sandbox_host.publish("17.2.1")
    outcome = Transaction(sandbox_host.context()).update(NEW, uid=1000, reason="test")
    assert outcome.ok, outcome.message
    config = load_config(layout.update_yaml)
    assert config is not None
    assert config.status.active == NEW
    assert config.status.backup == OLD
    assert config.status.last_update is not None and config.status.last_update.success
    assert_running(sandbox_host, "default", "17.2.1")
    assert read_pid(layout.pid_file) != before
    assert sorted(p.name for p in layout.versions_dir.iterdir()) == ["17.1.0", "17.2.1"]
    record = History(layout.state_dir).query()[0]
    assert (record.event, record.outcome, record.uid) == ("update", "succeeded", 1000)
    assert not (layout.state_dir / "journal.json").exists()


def test_an_update_records_the_id_file_as_teleport_update_does(sandbox_host: SandboxHost) -> None:
    layout = sandbox_host.add_agent()
    config = load_config(layout.update_yaml)
    assert config is not None
    save_config(layout.update_yaml, config.with_status(id_file=""))
    sandbox_host.publish("17.2.1")

    outcome = Transaction(sandbox_host.context()).update(NEW, uid=1000, reason="test")

    assert outcome.ok, outcome.message
    updated = load_config(layout.update_yaml)
    assert updated is not None
    assert updated.status.id_file == "/var/lib/teleport/teleport-update.id"
    assert "  id_file: /var/lib/teleport/teleport-update.id\n" in layout.update_yaml.read_text()


BROKEN = [
    ("crash at start", {"17.2.1": Behaviour(crash_at_start=True)}, {}),
    ("crash after start", {"17.2.1": Behaviour(crash_at_readyz=1)}, {}),
    ("never ready", {"17.2.1": Behaviour(never_ready=True)}, {}),
    ("running agent ignores SIGHUP", {}, {"17.1.0": Behaviour(ignore_sighup=True)}),
]


@pytest.mark.parametrize(
    ("published", "installed"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_a_broken_version_is_rolled_back_automatically(
    sandbox_host: SandboxHost,
    published: dict[str, Behaviour],
    installed: dict[str, Behaviour],
) -> None:
    layout = sandbox_host.add_agent(behaviours=installed)
    sandbox_host.publish("17.2.1", published.get("17.2.1"))
    outcome = Transaction(sandbox_host.context()).update(NEW)
    assert not outcome.ok
    assert "rolled back to 17.1.0" in outcome.message
    config = load_config(layout.update_yaml)
    assert config is not None
    assert config.status.skip == NEW
    assert config.status.active == OLD
    assert config.status.last_update is not None and not config.status.last_update.success
    assert_running(sandbox_host, "default", "17.1.0")
    assert load_agent_record(layout.state_dir).last_failure == outcome.message
    assert History(layout.state_dir).query()[0].outcome == "failed"


def test_a_crash_its_manager_gave_up_on_is_rolled_back_and_the_old_version_started(
    sandbox_host: SandboxHost,
) -> None:
    # supervisord leaves the crashed agent stopped (as systemd does past its start limit):
    # a reload of the restored version would find nothing to signal
    sandbox_host.add_agent(autorestart="false")
    sandbox_host.publish("17.2.1", Behaviour(crash_at_start=True))
    outcome = Transaction(sandbox_host.context()).update(NEW)
    assert not outcome.ok
    assert outcome.message.endswith("rolled back to 17.1.0"), outcome.message
    assert_running(sandbox_host, "default", "17.1.0")


def test_a_wrong_checksum_changes_nothing(sandbox_host: SandboxHost) -> None:
    layout = sandbox_host.add_agent()
    pid = read_pid(layout.pid_file)
    sandbox_host.publish("17.2.1")
    name = "teleport-v17.2.1-linux-amd64-bin.tar.gz"
    (sandbox_host.cdn.root / f"{name}.sha256").write_text("0" * 64 + f"  {name}\n")
    outcome = Transaction(sandbox_host.context()).update(NEW)
    assert not outcome.ok
    assert outcome.reason == "install-failed"
    assert "checksum mismatch" in outcome.message
    config = load_config(layout.update_yaml)
    assert config is not None and config.status.skip is None
    assert read_pid(layout.pid_file) == pid
    assert_running(sandbox_host, "default", "17.1.0")
    assert not (layout.versions_dir / "17.2.1").exists()


def test_a_stopped_agent_is_updated_but_not_started(sandbox_host: SandboxHost) -> None:
    layout = sandbox_host.add_agent(start=False)
    sandbox_host.publish("17.2.1")
    outcome = Transaction(sandbox_host.context()).update(NEW)
    assert outcome.ok
    assert "health check skipped" in outcome.message
    assert sandbox_host.supervisor.state(layout.unit_name) == "STOPPED"
    assert linked_revision(layout) == "17.2.1"


def test_rollback_by_hand_remembers_the_bad_version(sandbox_host: SandboxHost) -> None:
    layout = sandbox_host.add_agent()
    sandbox_host.publish("17.2.1")
    transaction = Transaction(sandbox_host.context())
    assert transaction.update(NEW).ok
    outcome = transaction.rollback(uid=1000, reason="TLS errors after the update")
    assert outcome.ok, outcome.message
    assert_running(sandbox_host, "default", "17.1.0")
    config = load_config(layout.update_yaml)
    assert config is not None
    assert (config.status.active, config.status.backup) == (OLD, NEW)
    bad = load_agent_record(layout.state_dir).bad["17.2.1"]
    assert (bad.reason, bad.by_uid) == ("TLS errors after the update", 1000)
    assert History(layout.state_dir).query()[0].event == "rollback"


def test_namespaces_are_independent(sandbox_host: SandboxHost) -> None:
    staging = sandbox_host.add_agent("staging")
    sandbox_host.add_agent("prod")
    sandbox_host.publish("17.2.1")
    assert Transaction(sandbox_host.context("staging")).update(NEW).ok
    assert_running(sandbox_host, "staging", "17.2.1")
    assert_running(sandbox_host, "prod", "17.1.0")
    assert staging.link_dir != sandbox_host.layouts["prod"].link_dir


# ---- issue 18, item 1: a rollback target always ------------------------------------------
BACKUP = Revision.of("17.0.5")


def installed(host: SandboxHost, namespace: str = "default") -> list[str]:
    return sorted(p.name for p in host.layouts[namespace].versions_dir.iterdir())


def test_a_failed_update_keeps_the_backup_so_a_rollback_is_still_there(
    sandbox_host: SandboxHost,
) -> None:
    layout = sandbox_host.add_agent()
    sandbox_host.publish("17.2.1", Behaviour(crash_at_start=True))
    seen: list[list[str]] = []
    ctx = sandbox_host.context(step_hook=lambda step: seen.append(installed(sandbox_host)))

    outcome = Transaction(ctx).update(NEW)

    assert not outcome.ok
    # the target was installed beside active and backup: three version dirs, never more
    assert ["17.0.5", "17.1.0", "17.2.1"] in seen
    assert max(len(dirs) for dirs in seen) == 3
    assert installed(sandbox_host) == ["17.0.5", "17.1.0"]  # the failed target is gone
    config = load_config(layout.update_yaml)
    assert config is not None and (config.status.active, config.status.backup) == (OLD, BACKUP)

    rollback = Transaction(sandbox_host.context()).rollback(uid=0, reason="17.1.0 misbehaves")
    assert rollback.ok, rollback.message
    assert_running(sandbox_host, "default", "17.0.5")


def test_a_good_update_drops_the_oldest_version_only_after_its_health_check(
    sandbox_host: SandboxHost,
) -> None:
    layout = sandbox_host.add_agent()
    sandbox_host.publish("17.2.1")
    at_switch: list[list[str]] = []

    def hook(step: object) -> None:
        if step == "switched":
            at_switch.append(installed(sandbox_host))

    assert Transaction(sandbox_host.context(step_hook=hook)).update(NEW).ok

    assert at_switch == [["17.0.5", "17.1.0", "17.2.1"]]
    assert installed(sandbox_host) == ["17.1.0", "17.2.1"]
    config = load_config(layout.update_yaml)
    assert config is not None and (config.status.active, config.status.backup) == (NEW, OLD)


def test_a_leftover_version_dir_goes_before_the_install_so_three_is_the_most(
    sandbox_host: SandboxHost, tmp_path: Path
) -> None:
    layout = sandbox_host.add_agent()
    stale = build_artifact(tmp_path / "stale", "17.2.0")
    install_revision(stale.path, stale.sha256, layout.versions_dir, Revision.of("17.2.0"))
    sandbox_host.publish("17.2.1")
    seen: list[list[str]] = []
    ctx = sandbox_host.context(step_hook=lambda step: seen.append(installed(sandbox_host)))

    assert Transaction(ctx).update(NEW).ok

    assert max(len(dirs) for dirs in seen) == 3
    assert "17.2.0" not in installed(sandbox_host)


def test_a_rollback_never_switches_onto_the_version_that_just_failed(
    sandbox_host: SandboxHost,
) -> None:
    """The soak defect: after rollback + clear-bad the backup is the version offered next;
    that update fails its health check; a rollback must not switch onto it and mark the
    good, running version bad."""
    layout = sandbox_host.add_agent()
    sandbox_host.publish("17.2.1")
    transaction = Transaction(sandbox_host.context())
    assert transaction.update(NEW).ok
    assert transaction.rollback(uid=0, reason="soak").ok  # active 17.1.0, backup 17.2.1
    record = load_agent_record(layout.state_dir)
    save_agent_record(layout.state_dir, record.clear_bad(NEW))  # what clear-bad does
    # the cluster offers 17.2.1 again; this time it crashes at start here
    sandbox_host.publish("17.2.1", Behaviour(crash_at_start=True))
    failed = transaction.update(NEW)
    assert not failed.ok
    config = load_config(layout.update_yaml)
    assert config is not None and (config.status.active, config.status.backup) == (OLD, NEW)

    with pytest.raises(ShepherdError, match=r"17\.2\.1 .* is the version that just failed"):
        transaction.rollback(uid=0, reason="one click")

    assert_running(sandbox_host, "default", "17.1.0")
    assert "17.1.0" not in load_agent_record(layout.state_dir).bad
    assert History(layout.state_dir).query()[0].reason == "backup-failed-here"


def test_a_rollback_never_switches_onto_the_skipped_version(sandbox_host: SandboxHost) -> None:
    layout = sandbox_host.add_agent()
    config = load_config(layout.update_yaml)
    assert config is not None
    save_config(layout.update_yaml, config.with_status(skip=BACKUP))  # e.g. by teleport-update

    with pytest.raises(ShepherdError, match="marked broken"):
        Transaction(sandbox_host.context()).rollback(uid=0)

    assert_running(sandbox_host, "default", "17.1.0")
    assert not load_agent_record(layout.state_dir).bad
