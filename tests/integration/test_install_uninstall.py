"""``shepherd install`` and ``shepherd uninstall`` through a real daemon on the sandbox: the
cluster emulator, the nginx CDN, agents under real supervisord (whose programs the install
writes into its include dir)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.install.revisions import list_revisions
from engine.service.health import read_pid
from engine.service.supervisor import Supervisord
from engine.store.history import History
from engine.store.layout import Layout
from engine.store.update_yaml import load_config
from engine.versions import Revision
from sandbox.agentbuild import Behaviour, write_agent_config
from tests.fixtures.daemon import RunningDaemon
from tests.fixtures.sandboxhost import readyz_pid

pytestmark = pytest.mark.integration


def _fresh(daemon: RunningDaemon, name: str = "fresh") -> Layout:
    """A namespace with only its agent config, as an admin writes it before installing."""
    layout = Layout(daemon.host.root, name)
    write_agent_config(layout.agent_config, layout.data_dir, proxy=daemon.cluster.proxy_addr)
    return layout


def _program(daemon: RunningDaemon, layout: Layout) -> Path:
    return daemon.host.supervisor.workdir / "programs" / f"{layout.unit_name}.conf"


def assert_nothing_left(daemon: RunningDaemon, layout: Layout) -> None:
    assert not layout.update_yaml.exists()
    assert list_revisions(layout.versions_dir) == []
    assert not layout.versions_dir.exists() or not any(layout.versions_dir.iterdir())
    assert not layout.link_dir.exists() or not any(layout.link_dir.iterdir())
    assert not layout.unit_file.exists()
    assert not _program(daemon, layout).exists()
    assert not Supervisord(daemon.host.supervisor.config_path).is_enabled(layout.unit_name)
    assert layout.namespace not in daemon.api.get("/v1")["agents"]


def test_install_sets_up_a_fresh_agent_that_runs_and_is_managed(
    shepherd_daemon: RunningDaemon,
) -> None:
    daemon = shepherd_daemon
    layout = _fresh(daemon)
    result = daemon.cli("install", "fresh")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "installed agent 'fresh' at 17.2.1" in result.stdout
    assert "downloading and verifying 17.2.1" in result.stderr  # the steps as they run

    assert daemon.host.supervisor.state("teleport_fresh") == "RUNNING"
    pid = read_pid(layout.pid_file)
    assert pid is not None and readyz_pid(layout) == pid
    assert daemon.host.running_version(layout) == "17.2.1"
    assert (layout.link_dir / "teleport").resolve().is_relative_to(layout.versions_dir)
    config = load_config(layout.update_yaml)
    assert config is not None and config.status.active == Revision.of("17.2.1")
    assert config.spec.proxy == daemon.cluster.proxy_addr and config.spec.enabled

    status = daemon.cli("status", "fresh", "--json")
    assert status.returncode == 0, status.stderr
    assert "fresh" in daemon.api.get("/v1")["agents"]
    assert "17.2.1" in status.stdout
    events = [(r.event, r.outcome) for r in History(layout.state_dir).query()]
    assert ("install", "succeeded") in events and ("adopt", "changed") in events


def test_install_refuses_an_existing_installation_without_force(
    shepherd_daemon: RunningDaemon,
) -> None:
    daemon = shepherd_daemon
    layout = daemon.host.layouts["default"]
    pid = read_pid(layout.pid_file)
    result = daemon.cli("install", "default")
    assert result.returncode == 1, result.stdout
    assert "already (partly) installed" in result.stderr
    assert str(layout.update_yaml) in result.stderr and "--force" in result.stderr
    assert read_pid(layout.pid_file) == pid  # untouched
    assert daemon.host.running_version(layout) == "17.1.0"


def test_a_bad_checksum_leaves_nothing_behind(shepherd_daemon: RunningDaemon) -> None:
    daemon = shepherd_daemon
    daemon.host.publish("17.3.0")
    daemon.cluster.set_group("default", version="17.3.0", in_window=False, jitter=0)
    for checksum in daemon.host.cdn.root.glob("*v17.3.0*.sha256"):
        name = checksum.read_text().split()[1]
        checksum.write_text(f"{'0' * 64}  {name}\n")
    layout = _fresh(daemon)
    result = daemon.cli("install", "fresh")
    assert result.returncode == 1, result.stdout
    assert "failed while downloading and installing 17.3.0" in result.stderr
    assert "everything it did was undone" in result.stderr
    assert_nothing_left(daemon, layout)
    failed = History(layout.state_dir).query()[0]
    assert (failed.event, failed.outcome, failed.reason) == ("install", "failed", "install-failed")


def test_a_failing_health_check_undoes_the_install(shepherd_daemon: RunningDaemon) -> None:
    daemon = shepherd_daemon
    daemon.host.publish("17.3.0", Behaviour(crash_at_start=True))
    daemon.cluster.set_group("default", version="17.3.0", in_window=False, jitter=0)
    layout = _fresh(daemon)
    result = daemon.cli("install", "fresh", "--json")
    assert result.returncode == 1, result.stdout
    assert "while enabling and starting teleport_fresh" in result.stderr
    assert "health check" in result.stderr
    assert_nothing_left(daemon, layout)
    # and a good build then installs cleanly: the failure left nothing in the way
    daemon.host.publish("17.3.1")
    daemon.cluster.set_group("default", version="17.3.1", in_window=False, jitter=0)
    again = daemon.cli("install", "fresh", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["active"] == "17.3.1"


def test_uninstall_refuses_a_running_agent_without_a_package_then_removes_it_forced(
    shepherd_daemon: RunningDaemon,
) -> None:
    daemon = shepherd_daemon
    layout = _fresh(daemon)
    assert daemon.cli("install", "fresh").returncode == 0
    pid = read_pid(layout.pid_file)

    refused = daemon.cli("uninstall", "fresh")
    assert refused.returncode == 1, refused.stdout
    assert "refusing to uninstall agent 'fresh'" in refused.stderr
    assert "running and enabled" in refused.stderr and "--force" in refused.stderr
    assert read_pid(layout.pid_file) == pid and layout.update_yaml.exists()

    result = daemon.cli("uninstall", "fresh", "--force")
    assert result.returncode == 0, result.stderr
    assert "uninstalled fresh" in result.stdout
    assert_nothing_left(daemon, layout)
    assert readyz_pid(layout) is None  # no agent answers any more
    records = History(layout.state_dir).query()
    assert (records[0].event, records[0].outcome) == ("uninstall", "succeeded")


def test_uninstall_hands_the_default_agent_back_to_the_package(
    shepherd_daemon: RunningDaemon,
) -> None:
    daemon = shepherd_daemon
    layout = daemon.host.layouts["default"]
    package = layout.under_root("/opt/teleport/system")  # the package's own layout
    shutil.copytree(layout.version_dir(Revision.of("17.0.5")), package, symlinks=True)
    (package / "sha256").unlink()

    result = daemon.cli("uninstall", "default", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["handed_back"] is True
    assert (layout.link_dir / "teleport").resolve() == (package / "bin/teleport").resolve()
    assert daemon.host.running_version(layout) == "17.0.5"
    pid = daemon.host.wait_healthy(layout)
    assert daemon.host.supervisor.state(layout.unit_name) == "RUNNING" and pid
    assert not layout.update_yaml.exists() and not layout.versions_dir.exists()
    assert "default" not in daemon.api.get("/v1")["agents"]
    assert History(layout.state_dir).query()[0].reason == "handed-back"


def test_a_forced_install_that_fails_puts_the_old_installation_back(
    shepherd_daemon: RunningDaemon,
) -> None:
    daemon = shepherd_daemon
    layout = _fresh(daemon)
    assert daemon.cli("install", "fresh").returncode == 0
    program = _program(daemon, layout).read_bytes() + b"; the admin's own note\n"
    _program(daemon, layout).write_bytes(program)
    config = layout.update_yaml.read_bytes()
    daemon.host.publish("17.3.0", Behaviour(crash_at_start=True))
    daemon.cluster.set_group("default", version="17.3.0", in_window=False, jitter=0)

    result = daemon.cli("install", "fresh", "--force")
    assert result.returncode == 1, result.stdout
    assert "health check" in result.stderr and "everything it did was undone" in result.stderr
    assert _program(daemon, layout).read_bytes() == program
    assert layout.update_yaml.read_bytes() == config
    assert [str(r) for r in list_revisions(layout.versions_dir)] == ["17.2.1"]
    linked = (layout.link_dir / "teleport").resolve()
    assert linked.is_relative_to(layout.version_dir(Revision.of("17.2.1")))
    daemon.host.wait_healthy(layout)
    assert daemon.host.running_version(layout) == "17.2.1"
    assert daemon.host.supervisor.state(layout.unit_name) == "RUNNING"
