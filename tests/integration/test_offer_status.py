"""The status answer tells the truth about the cluster's offer (issue 15, defect 1): a real
daemon with a supervisord agent on 17.1.0, the cluster emulator offering 17.2.1."""

from __future__ import annotations

from datetime import datetime

import pytest

from sandbox.emulator import Hostile
from tests.fixtures.daemon import RunningDaemon

pytestmark = pytest.mark.integration


def test_a_closed_window_shows_the_offered_version_not_a_null_target(
    shepherd_daemon: RunningDaemon,
) -> None:
    api = shepherd_daemon.api
    assert api.get("/v1/agents/default")["offer"] is None  # not checked yet: nothing claimed
    check = api.post("/v1/agents/default/check")
    assert check["decision"]["reason"] == "outside-cluster-window"
    assert check["decision"]["target"] == "17.2.1"
    assert check["decision"]["message"].startswith("17.2.1 is offered")
    offer = api.get("/v1/agents/default")["offer"]
    assert offer["target"] == "17.2.1" and offer["installed"] is False
    assert offer["held_by"] == "cluster-window"
    assert offer["installs_at"] is None  # the cluster opens its window when it will
    assert datetime.fromisoformat(offer["offered_at"]).tzinfo is not None


def test_garbage_from_the_cluster_is_a_cluster_problem_and_keeps_the_offer(
    shepherd_daemon: RunningDaemon,
) -> None:
    api = shepherd_daemon.api
    api.post("/v1/agents/default/check")
    shepherd_daemon.cluster.set_mode(Hostile.MALFORMED_JSON)
    check = api.post("/v1/agents/default/check")
    assert check["decision"]["reason"] == "cluster-unreachable"
    offer = api.get("/v1/agents/default")["offer"]
    assert offer["target"] == "17.2.1"
    assert offer["held_by"] == "cluster-unreachable"
    assert offer["cluster_problem"] and "Could not ask the cluster" in offer["cluster_problem"]


def test_pinned_and_after_an_update_the_offer_follows(shepherd_daemon: RunningDaemon) -> None:
    api = shepherd_daemon.api
    api.post("/v1/agents/default/pin")
    check = api.post("/v1/agents/default/check")
    assert (check["decision"]["reason"], check["decision"]["target"]) == ("pinned", "17.2.1")
    assert api.get("/v1/agents/default")["offer"]["held_by"] == "pinned"
    api.post("/v1/agents/default/unpin")
    update = api.post("/v1/agents/default/update", {"now": True})
    assert update["outcome"]["ok"] is True
    offer = api.get("/v1/agents/default")["offer"]
    assert (offer["target"], offer["installed"], offer["held_by"]) == ("17.2.1", True, None)
