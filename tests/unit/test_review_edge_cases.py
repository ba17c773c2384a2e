"""Edge cases a reviewer found: each once escaped as a traceback or a wrong answer."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.cli.main import main
from engine.cli.scenario import parse_scenario
from engine.errors import InvalidInput, InvalidRevision, InvalidScenario, InvalidSchedule
from engine.policy.decide import decide
from engine.policy.decision import Reason
from engine.policy.schedule import ExportedSchedule
from engine.sources.cluster import ask_cluster
from engine.sources.transport import TransportConfig, make_client
from engine.store.layout import validate_namespace
from engine.versions import Revision, Version


def test_a_bad_proxy_or_group_in_update_yaml_is_a_failed_ask_not_an_exception() -> None:
    with make_client(TransportConfig(trust_env=False)) as client:
        empty = ask_cluster(client, "", group=None, update_id=None)
        bad_group = ask_cluster(client, "proxy.example:443", group="my group", update_id=None)
    assert empty.failure is not None and "''" in empty.failure
    assert bad_group.failure is not None and "'my group'" in bad_group.failure


def test_schedule_lines_need_ascii_digits() -> None:
    for line in ("\u00b2 \u00b3", "\u0661 \u0662"):  # superscripts, Arabic-Indic digits
        with pytest.raises(InvalidSchedule, match="expected"):
            ExportedSchedule.parse(line)


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


def test_build_metadata_has_no_precedence_either_way() -> None:
    a, b = Version.parse("17.2.1+a"), Version.parse("17.2.1+b")
    assert a == b and not a < b and not b < a and a <= b and hash(a) == hash(b)
    assert not (a > b) and not (b > a)


@pytest.mark.parametrize("name", ["ns\n", "default\n", " ns"])
def test_namespaces_with_stray_whitespace_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid agent namespace"):
        validate_namespace(name)


@pytest.mark.parametrize("name", [" 17.2.1", "17.2.1\n", "17.2.1_ent "])
def test_version_dir_names_must_be_exact(name: str) -> None:
    with pytest.raises(InvalidRevision):
        Revision.parse_dir_name(name)


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
