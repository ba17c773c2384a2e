"""Properties of ``decide`` over generated situations."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.policy.answers import AutoUpdate, ChannelAnswer, Edition, FindAnswer
from engine.policy.decide import decide
from engine.policy.decision import Action
from engine.policy.inputs import AgentHealth, AgentState, ClusterView, DecisionInputs, LocalSettings
from engine.policy.schedule import ExportedSchedule, Interval, LocalWindow
from engine.versions import Flag, Revision, Version

versions = st.builds(
    Version, st.integers(14, 20), st.integers(0, 3), st.integers(0, 3), st.just(())
)
flag_sets = st.sampled_from(
    [frozenset(), frozenset({Flag.ENTERPRISE}), frozenset({Flag.ENTERPRISE, Flag.FIPS})]
)
revisions = st.builds(Revision, versions, flag_sets)
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
local_windows = st.builds(
    lambda days, hour, minutes, tz: LocalWindow.parse(
        {"days": days, "start": f"{hour:02d}:30", "duration": f"{minutes}m", "timezone": tz}
    ),
    st.lists(
        st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
        min_size=1,
        max_size=3,
        unique=True,
    ),
    st.integers(0, 23),
    st.integers(1, 600),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
)
local_settings = st.builds(
    LocalSettings,
    enabled=st.booleans(),
    pinned=st.booleans(),
    link_dir=st.sampled_from(["/usr/local/bin", "/opt/teleport/x/bin"]),
    base_url=st.sampled_from([None, "https://mirror.local"]),
    group=st.sampled_from([None, "staging"]),
    local_windows=st.lists(local_windows, max_size=2).map(tuple),
    blackouts=st.lists(local_windows, max_size=1).map(tuple),
    critical_bypasses_local_window=st.booleans(),
)
states = st.builds(
    AgentState,
    active=st.none() | revisions,
    backup=st.none() | revisions,
    skip=st.none() | revisions,
    bad=st.frozensets(revisions, max_size=2),
    unhealthy_marked=st.booleans(),
)
find_answers = st.builds(
    FindAnswer,
    server_version=versions,
    edition=st.sampled_from(list(Edition)),
    fips=st.booleans(),
    edition_reported=st.booleans(),
    auto_update=st.none()
    | st.builds(
        AutoUpdate,
        agent_version=st.none() | versions,
        agent_auto_update=st.booleans(),
        jitter_seconds=st.integers(0, 600),
    ),
)
channel_answers = st.builds(ChannelAnswer, version=st.none() | versions, critical=st.booleans())
clusters = st.one_of(
    st.builds(ClusterView, find=find_answers),
    st.builds(ClusterView, find=st.none() | find_answers, channel=channel_answers),
    st.builds(ClusterView, failure=st.just("connection refused")),
)


@st.composite
def schedules(draw: st.DrawFn, now: datetime) -> AgentHealth:
    if draw(st.booleans()):
        return AgentHealth(None)
    windows = []
    for offset in draw(st.lists(st.integers(-48, 48), max_size=3, unique=True)):
        start = now.replace(second=0, microsecond=0) + timedelta(hours=offset)
        windows.append(Interval(start, start + timedelta(hours=1)))
    return AgentHealth(ExportedSchedule(tuple(sorted(windows, key=lambda w: w.start))))


@st.composite
def situations(draw: st.DrawFn) -> DecisionInputs:
    now = draw(moments)
    return DecisionInputs(
        settings=draw(st.none() | local_settings),
        state=draw(states),
        cluster=draw(clusters),
        now=now,
        health=draw(schedules(now)),
        forced=draw(st.booleans()),
    )


@settings(max_examples=400, deadline=None)
@given(situations(), st.integers(0, 2**32))
def test_decisions_respect_the_invariants(inputs: DecisionInputs, seed: int) -> None:
    decision = decide(inputs, random.Random(seed))
    assert decision.message
    if decision.action is Action.UPDATE:
        assert inputs.settings is not None
        assert inputs.settings.enabled, "never update when disabled"
        assert not inputs.settings.pinned, "never update when pinned"
        assert decision.target is not None
        skip = inputs.state.skip
        assert skip is None or decision.target.version != skip.version, (
            "never update to the skip version, whatever its flags"
        )
        assert decision.target not in inputs.state.bad, "never to a version remembered as bad"
        assert decision.target != inputs.state.active
        find = inputs.cluster.find
        if find is not None:
            assert decision.target.version.major <= find.server_version.major, (
                "never above the cluster's major"
            )
            assert decision.target.version.major >= find.server_version.major - 1
        assert timedelta(0) <= decision.delay
        if inputs.forced:
            assert decision.delay == timedelta(0)
    if decision.next_check is not None:
        assert decision.next_check >= inputs.now, "next check is never in the past"


@settings(max_examples=200, deadline=None)
@given(situations(), st.integers(0, 2**32))
def test_the_same_inputs_give_the_same_decision(inputs: DecisionInputs, seed: int) -> None:
    assert decide(inputs, random.Random(seed)) == decide(inputs, random.Random(seed))


@settings(max_examples=200, deadline=None)
@given(situations(), st.integers(0, 2**32))
def test_an_unreachable_cluster_never_changes_anything(inputs: DecisionInputs, seed: int) -> None:
    unreachable = DecisionInputs(
        settings=inputs.settings,
        state=inputs.state,
        cluster=ClusterView(failure="timed out"),
        now=inputs.now,
        health=inputs.health,
        forced=inputs.forced,
    )
    assert decide(unreachable, random.Random(seed)).action in {Action.NOTHING, Action.ERROR}
