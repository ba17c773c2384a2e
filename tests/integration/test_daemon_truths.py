"""Small truths the demo showed (issue 18, item 5) and the rollback target (item 1) through a
real ``shepherd daemon`` on a sandbox host, driven by the real ``shepherd`` CLI."""

from __future__ import annotations

import json

import pytest

from sandbox.agentbuild import Behaviour
from tests.fixtures.daemon import RunningDaemon

pytestmark = pytest.mark.integration


def status_json(daemon: RunningDaemon) -> dict[str, object]:
    answer = daemon.cli("status", "default", "--json")
    assert answer.returncode == 0, answer.stderr
    agent: dict[str, object] = json.loads(answer.stdout)
    return agent


def test_status_and_explain_give_the_same_next_check_said_once(
    shepherd_daemon: RunningDaemon,
) -> None:
    assert shepherd_daemon.cli("check").returncode == 0
    agent = status_json(shepherd_daemon)
    decision = agent["decision"]
    assert isinstance(decision, dict) and agent["next_check"]
    assert decision["next_check"] == agent["next_check"]

    explain = shepherd_daemon.cli("explain", "--agent", "default", "--json")
    assert explain.returncode == 0, explain.stderr
    assert json.loads(explain.stdout)["next_check"] == agent["next_check"]

    text = shepherd_daemon.cli("status").stdout
    line = next(line for line in text.splitlines() if line.startswith("default:"))
    assert line.count("UTC") == 1 and line.endswith(" UTC."), line  # "Next check: ... UTC."
    assert "Next check:" in line


def test_after_clear_bad_status_stops_saying_marked_broken_at_once(
    shepherd_daemon: RunningDaemon,
) -> None:
    host = shepherd_daemon.host
    host.publish("17.2.1", Behaviour(crash_at_start=True))
    failed = json.loads(shepherd_daemon.cli("update", "default", "--now", "--json").stdout)
    assert failed["outcome"]["ok"] is False
    again = json.loads(shepherd_daemon.cli("update", "default", "--now", "--json").stdout)
    assert again["decision"]["reason"] == "target-skipped"
    before = shepherd_daemon.cli("status").stdout
    assert "marked broken" in before
    assert "17.2.1 failed here (crashed at start, 1 try" in before

    assert shepherd_daemon.cli("clear-bad", "default", "17.2.1").returncode == 0

    after = shepherd_daemon.cli("status").stdout
    assert "marked broken" not in after and "failed here" not in after
    assert "17.2.1 was cleared" in after
    agent = status_json(shepherd_daemon)
    assert agent["skip"] is None and agent["failed"] == {}


def test_one_click_rollback_refuses_the_version_that_just_failed(
    shepherd_daemon: RunningDaemon,
) -> None:
    """The soak defect, end to end: update, roll back, clear-bad, the same version comes back
    broken and fails; the rollback (and the tray's) is refused and the good agent stays."""
    host = shepherd_daemon.host
    assert shepherd_daemon.cli("update", "--now").returncode == 0
    assert shepherd_daemon.cli("rollback", "--reason", "soak").returncode == 0
    assert shepherd_daemon.cli("clear-bad", "default", "17.2.1").returncode == 0
    host.publish("17.2.1", Behaviour(crash_at_start=True))
    shepherd_daemon.cli("update", "--now")
    agent = status_json(shepherd_daemon)
    assert (agent["active"], agent["backup"]) == ("17.1.0", "17.2.1")
    refused = agent["rollback_refused"]
    assert isinstance(refused, str) and "just failed" in refused

    rollback = shepherd_daemon.cli("rollback")

    assert rollback.returncode == 1 and "just failed its update here" in rollback.stderr
    assert host.running_version(host.layouts["default"]) == "17.1.0"
    assert status_json(shepherd_daemon)["bad"] == {}
    assert "no rollback:" in shepherd_daemon.cli("status").stdout
