"""pin / unpin / enable / disable / clear-bad / agents add|remove with ``--local``: the engine's
operations in the CLI's own process, without a daemon, on a real sandbox host."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.store.agent_record import load_agent_record, save_agent_record
from engine.store.history import History
from engine.store.update_yaml import load_config
from engine.versions import Revision
from tests.fixtures.sandboxhost import SandboxHost

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def cli(host: SandboxHost, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args, "--local", "--root", str(host.root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )


def test_pin_and_enable_change_update_yaml_without_a_daemon(sandbox_host: SandboxHost) -> None:
    layout = sandbox_host.add_agent()
    pinned = cli(sandbox_host, "pin")
    assert pinned.returncode == 0, pinned.stderr
    assert pinned.stdout.strip() == "default: updates pinned"
    config = load_config(layout.update_yaml)
    assert config is not None and config.spec.pinned
    again = cli(sandbox_host, "pin", "default")
    assert "(it already was)" in again.stdout
    assert cli(sandbox_host, "disable").returncode == 0
    assert cli(sandbox_host, "unpin").returncode == 0
    config = load_config(layout.update_yaml)
    assert config is not None and not config.spec.pinned and not config.spec.enabled
    record = History(layout.state_dir).query()[0]
    assert (record.event, record.reason) == ("settings", "spec-pinned")


def test_clear_bad_local_forgets_a_version(sandbox_host: SandboxHost) -> None:
    layout = sandbox_host.add_agent()
    bad = Revision.of("17.2.1")
    save_agent_record(layout.state_dir, load_agent_record(layout.state_dir).mark_bad(bad, "x", 0))
    cleared = cli(sandbox_host, "clear-bad", "default", "17.2.1")
    assert cleared.returncode == 0, cleared.stderr
    assert "17.2.1 may be installed again" in cleared.stdout
    assert load_agent_record(layout.state_dir).bad_revisions() == frozenset()
    nothing = cli(sandbox_host, "clear-bad", "default", "17.9.9")
    assert "was not marked bad" in nothing.stdout


def test_agents_add_and_remove_local_and_an_unknown_agent(sandbox_host: SandboxHost) -> None:
    sandbox_host.add_agent()
    sandbox_host.add_agent("staging")
    added = cli(sandbox_host, "agents", "add", "staging")
    assert added.returncode == 0, added.stderr
    removed = cli(sandbox_host, "agents", "remove", "staging")
    assert removed.returncode == 0, removed.stderr
    managed = (sandbox_host.root / "var/lib/shepherd/agents.json").read_text()
    assert "staging" not in managed
    unknown = cli(sandbox_host, "pin", "nosuch")
    assert unknown.returncode == 2
    assert "no agent 'nosuch'" in unknown.stderr
