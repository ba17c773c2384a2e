"""What the status's ``offer`` says: the offered version is never hidden, and each reason it
is not installed yet has its name and, where known, its moment."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from engine.policy.answers import ChannelAnswer
from engine.policy.decide import decide
from engine.policy.decision import Action, Decision, Reason
from engine.policy.inputs import AgentHealth, ClusterView, DecisionInputs
from engine.policy.offer import Hold, Offer, offer_of
from engine.policy.schedule import ExportedSchedule, Interval
from engine.versions import Revision, Version
from tests.unit.test_decide import (
    ACTIVE,
    NOW,
    TARGET,
    find_answer,
    settings,
    state,
    v2_inputs,
    window,
)


def offer_for(inputs: DecisionInputs, **kwargs: object) -> Offer:
    decision = decide(inputs, random.Random(1))
    return offer_of(decision, decided_at=NOW, **kwargs)  # type: ignore[arg-type]


TUESDAY_NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
V1_WINDOW = Interval(TUESDAY_NOON, TUESDAY_NOON + timedelta(hours=1))


def v1_inputs() -> DecisionInputs:
    return v2_inputs(
        cluster=ClusterView(channel=ChannelAnswer(Version.parse("17.2.1"), critical=False)),
        health=AgentHealth(exported_schedule=ExportedSchedule((V1_WINDOW,))),
    )


def at(hour: int) -> datetime:
    return datetime(2026, 11, 24, hour, 0, tzinfo=UTC)


CLOSED = ClusterView(find=find_answer(agent_auto_update=False))
NO_JITTER = ClusterView(find=find_answer(jitter_seconds=0))
LATER_WINDOW = settings(local_windows=(window(["tue"], "14:00", "2h"),))
BLACKOUT_NOW = settings(blackouts=(window(["tue"], "10:00", "3h"),))

ROWS = [
    ("cluster window closed", v2_inputs(cluster=CLOSED), Hold.CLUSTER_WINDOW, None),
    ("v1 exported window ahead", v1_inputs(), Hold.CLUSTER_WINDOW, V1_WINDOW.start),
    ("local window ahead", v2_inputs(settings=LATER_WINDOW), Hold.LOCAL_WINDOW, at(14)),
    ("blackout now", v2_inputs(settings=BLACKOUT_NOW), Hold.BLACKOUT, at(13)),
    ("pinned", v2_inputs(settings=settings(pinned=True)), Hold.PINNED, None),
    ("remembered bad", v2_inputs(state=state(bad=frozenset({TARGET}))), Hold.REMEMBERED_BAD, None),
    ("failed here (skip)", v2_inputs(state=state(skip=TARGET)), Hold.FAILED_HERE, None),
    ("in the window: updating", v2_inputs(cluster=NO_JITTER), Hold.UPDATING, NOW),
]


@pytest.mark.parametrize(
    ("inputs", "held_by", "installs_at"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_the_offered_target_and_why_it_waits(
    inputs: DecisionInputs, held_by: Hold, installs_at: datetime | None
) -> None:
    offer = offer_for(inputs)
    assert offer.target == TARGET
    assert not offer.installed
    assert offer.held_by is held_by
    assert offer.installs_at == installs_at
    assert offer.offered_at == NOW
    assert offer.why


def test_up_to_date_is_installed_even_behind_a_closed_window() -> None:
    closed = v2_inputs(
        state=state(active=TARGET), cluster=ClusterView(find=find_answer(agent_auto_update=False))
    )
    offer = offer_for(closed).for_active(str(TARGET))
    assert (offer.target, offer.installed, offer.held_by) == (TARGET, True, None)
    assert offer_for(v2_inputs(state=state(active=TARGET))).installed


def test_an_unreachable_cluster_keeps_the_last_offer_and_says_so() -> None:
    waiting = offer_for(v2_inputs(cluster=ClusterView(find=find_answer(agent_auto_update=False))))
    later = offer_for(
        v2_inputs(cluster=ClusterView(failure="invalid JSON from the proxy")), previous=waiting
    )
    assert later.target == TARGET and later.offered_at == NOW
    assert later.held_by is Hold.CLUSTER_UNREACHABLE
    assert later.cluster_problem is not None and "invalid JSON" in later.cluster_problem
    first = offer_for(v2_inputs(cluster=ClusterView(failure="connection refused")))
    assert (first.target, first.held_by) == (None, Hold.CLUSTER_UNREACHABLE)
    # installed while the cluster is away: still a cluster problem to show
    assert later.for_active(str(TARGET)).held_by is Hold.CLUSTER_UNREACHABLE


def test_a_failed_update_is_failed_here_and_a_rollback_undoes_installed() -> None:
    failed = offer_for(v2_inputs(), failed="17.2.1 did not become ready; rolled back")
    assert (failed.held_by, failed.why) == (
        Hold.FAILED_HERE,
        "17.2.1 did not become ready; rolled back",
    )
    installed = offer_for(v2_inputs()).for_active(str(TARGET))
    assert (installed.installed, installed.held_by, installed.installs_at) == (True, None, None)
    assert installed.for_active(str(ACTIVE)).installed is False
    assert installed.for_active(str(TARGET)) is installed


def test_disabled_keeps_what_was_offered_and_no_target_holds_nothing_named() -> None:
    waiting = offer_for(v2_inputs(cluster=ClusterView(find=find_answer(agent_auto_update=False))))
    disabled = offer_for(v2_inputs(settings=settings(enabled=False)), previous=waiting)
    assert (disabled.target, disabled.held_by) == (TARGET, Hold.DISABLED)
    assert offer_for(v2_inputs(settings=settings(enabled=False))).target is None
    no_target = offer_for(v2_inputs(cluster=ClusterView(find=find_answer(agent_version=None))))
    assert (no_target.target, no_target.held_by) == (None, None)


def test_an_other_refusal_with_a_target_is_refused() -> None:
    edition = Decision(Action.ERROR, Reason.EDITION_UNAVAILABLE, "no builds", target=TARGET)
    assert offer_of(edition, decided_at=NOW).held_by is Hold.REFUSED
    canary = Decision(Action.WAIT, Reason.CANARY_PENDING, "waits", target=TARGET)
    assert offer_of(canary, decided_at=NOW).held_by is Hold.CANARY


def test_pinned_and_closed_window_decisions_name_the_offered_version() -> None:
    pinned = decide(v2_inputs(settings=settings(pinned=True)), random.Random(1))
    assert pinned.target == TARGET and "The cluster offers 17.2.1_ent" in pinned.message
    closed = decide(
        v2_inputs(cluster=ClusterView(find=find_answer(agent_auto_update=False))), random.Random(1)
    )
    assert closed.target == TARGET and closed.message.startswith("17.2.1_ent is offered")
    v1_pinned = decide(replace(v1_inputs(), settings=settings(pinned=True)), random.Random(1))
    assert v1_pinned.target == TARGET
    nothing = decide(
        replace(
            v1_inputs(),
            settings=settings(pinned=True),
            cluster=ClusterView(channel=ChannelAnswer(None, critical=False)),
        ),
        random.Random(1),
    )
    assert nothing.target is None and "offers" not in nothing.message
    assert Revision.of("17.2.1", "Enterprise") == TARGET
