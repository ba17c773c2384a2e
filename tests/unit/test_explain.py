"""`shepherd explain`: the policy on a scenario file, as a user runs it."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.cli.main import main
from engine.cli.scenario import parse_scenario
from engine.errors import InvalidScenario
from engine.policy.decide import decide
from engine.policy.decision import Reason

SCENARIO = """\
now: 2026-11-24T10:30:00Z
seed: 3
settings: {enabled: true, group: staging}
state: {active: 17.1.0_ent, backup: 17.0.5_ent}
cluster:
  find:
    server_version: v17.2.1
    edition: ent
    fips: false
    cluster_name: example
    some_future_field: {ignored: true}
    auto_update:
      agent_version: 17.2.1
      agent_auto_update: true
      agent_update_jitter_seconds: 30
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_explain_prints_action_reason_target_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", str(write(tmp_path, SCENARIO))]) == 0
    out = capsys.readouterr().out
    assert "decision:   update (update-in-window)" in out
    assert "target:     17.2.1_ent" in out
    assert "group 'staging' is open" in out


def test_explain_json_is_machine_readable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", "--json", str(write(tmp_path, SCENARIO))]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["action"] == "update"
    assert decision["reason"] == "update-in-window"
    assert decision["target"] == "17.2.1_ent"
    assert 0 <= decision["delay_seconds"] < 30


def test_explain_accepts_json_scenarios(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = {
        "now": "2026-11-24T10:30:00+00:00",
        "settings": {"pinned": True},
        "state": {"active": {"version": "17.1.0", "flags": ["Enterprise"]}},
        "cluster": {"error": "connection refused"},
    }
    path = write(tmp_path, json.dumps(scenario), "scenario.json")
    assert main(["explain", "--json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["reason"] == "cluster-unreachable"


def test_explain_v1_channel_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = """\
now: 2026-11-24T10:30:00Z
settings: {}
state: {active: 17.1.0}
cluster: {channel: {version: "v17.2.1", critical: "YES"}}
health: {schedule: null}
"""
    assert main(["explain", "--json", str(write(tmp_path, text))]) == 0
    assert json.loads(capsys.readouterr().out)["reason"] == "update-critical"


def test_explain_demo_runs_the_embedded_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "outside-local-window" in out
    assert "17.2.1_ent" in out


BAD_SCENARIOS = [
    (
        "unknown top key",
        "now: 2026-11-24T10:30:00Z\nsetings: {}\ncluster: {error: x}\n",
        "'setings'",
    ),
    ("bad revision", "state: {active: 17.1.0_oss}\ncluster: {error: x}\n", "'17.1.0_oss'"),
    (
        "bad version in find",
        "settings: {}\ncluster: {find: {server_version: seventeen, auto_update: {}}}\n",
        "seventeen",
    ),
    ("naive time", "now: '2026-11-24T10:30:00'\ncluster: {error: x}\n", "time zone"),
    ("bad time", "now: yesterday\ncluster: {error: x}\n", "'yesterday'"),
    (
        "bad weekday in local window",
        "settings: {local_windows: [{days: [funday], start: '02:00', duration: 1h}]}\n"
        "cluster: {error: x}\n",
        "funday",
    ),
    (
        "bad critical value",
        "settings: {}\ncluster: {channel: {version: v1.2.3, critical: maybe}}\n",
        "maybe",
    ),
    ("enabled not a bool", "settings: {enabled: 'yes'}\ncluster: {error: x}\n", "settings.enabled"),
    ("not a mapping", "- just\n- a list\n", "must be a mapping"),
    ("yaml syntax", "settings: {enabled: true\n", "not valid YAML"),
    ("missing cluster", "settings: {}\n", "'cluster'"),
]


@pytest.mark.parametrize(
    ("text", "named"), [row[1:] for row in BAD_SCENARIOS], ids=[row[0] for row in BAD_SCENARIOS]
)
def test_bad_scenarios_fail_with_exit_2_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, named: str
) -> None:
    assert main(["explain", str(write(tmp_path, text))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("shepherd: error: ")
    assert named in err


def test_missing_scenario_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["explain", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_the_installed_console_script_runs() -> None:
    shepherd = Path(sys.executable).parent / "shepherd"
    result = subprocess.run(
        [str(shepherd), "explain", "--demo", "--json"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["target"] == "17.2.1_ent"
    helped = subprocess.run([str(shepherd), "--help"], capture_output=True, text=True, check=True)
    assert "exit codes" in helped.stdout


def test_an_impossible_date_in_a_scenario_is_bad_input(tmp_path: Path, capsys) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("now: 2026-02-30T00:00:00Z\n")
    with pytest.raises(InvalidScenario, match="impossible"):
        parse_scenario(path.read_text())
    assert main(["explain", str(path)]) == 2
    assert "impossible" in capsys.readouterr().err


def test_a_misspelt_key_in_a_scenario_revision_is_named() -> None:
    text = "now: 2026-11-24T10:30:00Z\nstate:\n  active: {version: 17.1.0, flag: [Enterprise]}\n"
    with pytest.raises(InvalidScenario, match="flag"):
        parse_scenario(text)


def test_a_local_window_inside_a_blackout_is_not_named_as_the_next_chance() -> None:
    scenario = parse_scenario(
        """
now: 2026-11-25T10:00:00Z
settings:
  local_windows: [{days: daily, start: "12:00", duration: 1h, timezone: UTC}]
  blackouts: [{days: [wed], start: "11:00", duration: 3h, timezone: UTC}]
state: {active: 17.1.0}
cluster:
  find:
    server_version: 17.2.1
    edition: community
    auto_update: {agent_version: 17.2.1, agent_auto_update: true}
"""
    )
    decision = decide(scenario.inputs, random.Random(1))
    assert decision.reason is Reason.OUTSIDE_LOCAL_WINDOW
    assert decision.next_check == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert "2026-11-26 12:00" in decision.message
