"""The decision table: one row per rule and per short-circuit of PROTOCOL §1.1 and §4.

Each row starts from a baseline that WOULD update and changes only what the row names, so a
row fails if its rule is missing, and rows pairing two rules fail if their order is swapped.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.policy.answers import AutoUpdate, ChannelAnswer, Edition, FindAnswer
from engine.policy.decide import decide, preflight
from engine.policy.decision import Action, Decision, Reason
from engine.policy.inputs import AgentHealth, AgentState, ClusterView, DecisionInputs, LocalSettings
from engine.policy.schedule import ExportedSchedule, LocalWindow
from engine.versions import Revision, Version

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)  # a Tuesday
ACTIVE = Revision.of("17.1.0", "Enterprise")
TARGET = Revision.of("17.2.1", "Enterprise")
PLAIN = Revision.of("17.2.1")


def find_answer(**auto: Any) -> FindAnswer:
    block = {"agent_version": Version.parse("17.2.1"), "agent_auto_update": True} | auto
    return FindAnswer(
        server_version=Version.parse("17.2.1"),
        edition=Edition.ENTERPRISE,
        fips=False,
        edition_reported=True,
        auto_update=AutoUpdate(**block),
    )


def v2_inputs(**changes: Any) -> DecisionInputs:
    base = DecisionInputs(
        settings=LocalSettings(),
        state=AgentState(active=ACTIVE, backup=Revision.of("17.0.5", "Enterprise")),
        cluster=ClusterView(find=find_answer()),
        now=NOW,
    )
    return replace(base, **changes)


def settings(**changes: Any) -> LocalSettings:
    return replace(LocalSettings(), **changes)


def state(**changes: Any) -> AgentState:
    return replace(AgentState(active=ACTIVE), **changes)


def window(days: list[str], start: str, duration: str, tz: str = "UTC") -> LocalWindow:
    return LocalWindow.parse({"days": days, "start": start, "duration": duration, "timezone": tz})


def run(inputs: DecisionInputs, seed: int = 1) -> Decision:
    return decide(inputs, random.Random(seed))


V2_ROWS = [
    ("baseline in window updates", v2_inputs(), Action.UPDATE, Reason.UPDATE_IN_WINDOW),
    ("no config", v2_inputs(settings=None), Action.NOTHING, Reason.NOT_CONFIGURED),
    ("disabled", v2_inputs(settings=settings(enabled=False)), Action.NOTHING, Reason.DISABLED),
    ("empty link dir", v2_inputs(settings=settings(link_dir="")), Action.ERROR, Reason.NO_LINK_DIR),
    (
        "plain http base url",
        v2_inputs(settings=settings(base_url="http://mirror.example")),
        Action.ERROR,
        Reason.INSECURE_BASE_URL,
    ),
    (
        "cluster unreachable",
        v2_inputs(cluster=ClusterView(failure="connection refused")),
        Action.NOTHING,
        Reason.CLUSTER_UNREACHABLE,
    ),
    ("pinned", v2_inputs(settings=settings(pinned=True)), Action.NOTHING, Reason.PINNED),
    (
        "outside cluster window",
        v2_inputs(cluster=ClusterView(find=find_answer(agent_auto_update=False))),
        Action.NOTHING,
        Reason.OUTSIDE_CLUSTER_WINDOW,
    ),
    (
        "empty target",
        v2_inputs(cluster=ClusterView(find=find_answer(agent_version=None))),
        Action.ERROR,
        Reason.NO_TARGET,
    ),
    ("target is active", v2_inputs(state=state(active=TARGET)), Action.NOTHING, Reason.UP_TO_DATE),
    (
        "target is skip",
        v2_inputs(state=state(skip=TARGET)),
        Action.NOTHING,
        Reason.TARGET_SKIPPED,
    ),
    (
        "target remembered as bad",
        v2_inputs(state=state(bad=frozenset({TARGET}))),
        Action.NOTHING,
        Reason.TARGET_MARKED_BAD,
    ),
    (
        "target above cluster major",
        v2_inputs(cluster=ClusterView(find=find_answer(agent_version=Version.parse("18.0.0")))),
        Action.ERROR,
        Reason.INCOMPATIBLE_TARGET,
    ),
    (
        "target two majors behind",
        v2_inputs(cluster=ClusterView(find=find_answer(agent_version=Version.parse("15.4.0")))),
        Action.ERROR,
        Reason.INCOMPATIBLE_TARGET,
    ),
    (
        "downgrade within one major is allowed",
        v2_inputs(cluster=ClusterView(find=find_answer(agent_version=Version.parse("16.4.0")))),
        Action.UPDATE,
        Reason.UPDATE_IN_WINDOW,
    ),
    (
        "local blackout",
        v2_inputs(settings=settings(blackouts=(window(["tue"], "10:00", "2h"),))),
        Action.WAIT,
        Reason.IN_BLACKOUT,
    ),
    (
        "outside local window",
        v2_inputs(settings=settings(local_windows=(window(["sat"], "02:00", "3h"),))),
        Action.WAIT,
        Reason.OUTSIDE_LOCAL_WINDOW,
    ),
    (
        "inside local window",
        v2_inputs(settings=settings(local_windows=(window(["tue"], "10:00", "1h"),))),
        Action.UPDATE,
        Reason.UPDATE_IN_WINDOW,
    ),
    ("forced", v2_inputs(forced=True), Action.UPDATE, Reason.UPDATE_FORCED),
    # pairs whose order matters
    (
        "disabled beats unreachable",
        v2_inputs(settings=settings(enabled=False), cluster=ClusterView(failure="timeout")),
        Action.NOTHING,
        Reason.DISABLED,
    ),
    (
        "disabled beats forced",
        v2_inputs(settings=settings(enabled=False), forced=True),
        Action.NOTHING,
        Reason.DISABLED,
    ),
    (
        "empty link dir beats insecure base url",
        v2_inputs(settings=settings(link_dir="", base_url="http://x")),
        Action.ERROR,
        Reason.NO_LINK_DIR,
    ),
    (
        "insecure base url beats unreachable cluster",
        v2_inputs(settings=settings(base_url="http://x"), cluster=ClusterView(failure="dns")),
        Action.ERROR,
        Reason.INSECURE_BASE_URL,
    ),
    (
        "unreachable beats pinned",
        v2_inputs(settings=settings(pinned=True), cluster=ClusterView(failure="dns")),
        Action.NOTHING,
        Reason.CLUSTER_UNREACHABLE,
    ),
    (
        "pinned beats forced",
        v2_inputs(settings=settings(pinned=True), forced=True),
        Action.NOTHING,
        Reason.PINNED,
    ),
    (
        "pinned beats outside window",
        v2_inputs(
            settings=settings(pinned=True),
            cluster=ClusterView(find=find_answer(agent_auto_update=False)),
        ),
        Action.NOTHING,
        Reason.PINNED,
    ),
    (
        "forced bypasses the cluster window",
        v2_inputs(forced=True, cluster=ClusterView(find=find_answer(agent_auto_update=False))),
        Action.UPDATE,
        Reason.UPDATE_FORCED,
    ),
    (
        "outside window beats empty target",
        v2_inputs(
            cluster=ClusterView(find=find_answer(agent_auto_update=False, agent_version=None))
        ),
        Action.NOTHING,
        Reason.OUTSIDE_CLUSTER_WINDOW,
    ),
    (
        "outside window beats up to date",
        v2_inputs(
            state=state(active=TARGET),
            cluster=ClusterView(find=find_answer(agent_auto_update=False)),
        ),
        Action.NOTHING,
        Reason.OUTSIDE_CLUSTER_WINDOW,
    ),
    (
        "up to date beats skip",
        v2_inputs(state=state(active=TARGET, skip=TARGET)),
        Action.NOTHING,
        Reason.UP_TO_DATE,
    ),
    (
        "skip beats in window",
        v2_inputs(state=state(skip=TARGET)),
        Action.NOTHING,
        Reason.TARGET_SKIPPED,
    ),
    (
        "skip beats forced",
        v2_inputs(state=state(skip=TARGET), forced=True),
        Action.NOTHING,
        Reason.TARGET_SKIPPED,
    ),
    (
        "skip beats incompatible",
        v2_inputs(
            state=state(skip=Revision.of("18.0.0", "Enterprise")),
            cluster=ClusterView(find=find_answer(agent_version=Version.parse("18.0.0"))),
        ),
        Action.NOTHING,
        Reason.TARGET_SKIPPED,
    ),
    (
        "incompatible beats forced",
        v2_inputs(
            forced=True,
            cluster=ClusterView(find=find_answer(agent_version=Version.parse("18.0.0"))),
        ),
        Action.ERROR,
        Reason.INCOMPATIBLE_TARGET,
    ),
    (
        "forced bypasses local blackout",
        v2_inputs(forced=True, settings=settings(blackouts=(window(["tue"], "10:00", "2h"),))),
        Action.UPDATE,
        Reason.UPDATE_FORCED,
    ),
    (
        "blackout beats inside local window",
        v2_inputs(
            settings=settings(
                local_windows=(window(["tue"], "10:00", "1h"),),
                blackouts=(window(["daily"], "10:15", "30m"),),
            )
        ),
        Action.WAIT,
        Reason.IN_BLACKOUT,
    ),
    (
        "up to date beats local window wait",
        v2_inputs(
            state=state(active=TARGET),
            settings=settings(local_windows=(window(["sat"], "02:00", "3h"),)),
        ),
        Action.NOTHING,
        Reason.UP_TO_DATE,
    ),
]


@pytest.mark.parametrize(
    ("inputs", "action", "reason"),
    [row[1:] for row in V2_ROWS],
    ids=[row[0] for row in V2_ROWS],
)
def test_v2_decision_table(inputs: DecisionInputs, action: Action, reason: Reason) -> None:
    decision = run(inputs)
    assert (decision.action, decision.reason) == (action, reason), decision.message
    assert decision.message


def channel(version: str | None = "v17.2.1", *, critical: bool = False) -> ClusterView:
    parsed = Version.parse(version) if version else None
    return ClusterView(channel=ChannelAnswer(version=parsed, critical=critical))


def exported(*hours: tuple[int, int]) -> ExportedSchedule:
    """Windows given as (start hour offset, stop hour offset) relative to NOW."""
    lines = ["# generated by teleport"]
    for start, stop in hours:
        lines.append(
            f"{int((NOW + timedelta(hours=start)).timestamp())} "
            f"{int((NOW + timedelta(hours=stop)).timestamp())}"
        )
    return ExportedSchedule.parse("\n".join(lines) + "\n")


IN_WINDOW = AgentHealth(exported((-1, 1), (23, 24)))
LATER_WINDOW = AgentHealth(exported((5, 6), (29, 30)))
NO_FILE = AgentHealth(None)
EMPTY_FILE = AgentHealth(exported())
PAST_ONLY = AgentHealth(exported((-30, -29)))


def v1_inputs(**changes: Any) -> DecisionInputs:
    base = DecisionInputs(
        settings=LocalSettings(),
        state=AgentState(active=ACTIVE),
        cluster=channel(),
        now=NOW,
        health=LATER_WINDOW,
    )
    return replace(base, **changes)


V1_ROWS = [
    (
        "outside maintenance window waits",
        v1_inputs(),
        Action.WAIT,
        Reason.OUTSIDE_MAINTENANCE_WINDOW,
        False,
    ),
    (
        "inside maintenance window updates",
        v1_inputs(health=IN_WINDOW),
        Action.UPDATE,
        Reason.UPDATE_IN_MAINTENANCE_WINDOW,
        False,
    ),
    (
        "critical outside window updates",
        v1_inputs(cluster=channel(critical=True)),
        Action.UPDATE,
        Reason.UPDATE_CRITICAL,
        None,
    ),
    (
        "channel says none",
        v1_inputs(cluster=channel(None)),
        Action.NOTHING,
        Reason.CHANNEL_NO_VERSION,
        None,
    ),
    (
        "channel version is active",
        v1_inputs(state=state(active=TARGET), health=IN_WINDOW),
        Action.NOTHING,
        Reason.UP_TO_DATE,
        None,
    ),
    (
        "channel version is skip",
        v1_inputs(state=state(skip=TARGET), health=IN_WINDOW),
        Action.NOTHING,
        Reason.TARGET_SKIPPED,
        None,
    ),
    (
        "missing schedule first run marks unhealthy",
        v1_inputs(health=NO_FILE),
        Action.WAIT,
        Reason.UNHEALTHY_FIRST_STRIKE,
        True,
    ),
    (
        "empty schedule first run marks unhealthy",
        v1_inputs(health=EMPTY_FILE),
        Action.WAIT,
        Reason.UNHEALTHY_FIRST_STRIKE,
        True,
    ),
    (
        "only past windows first run marks unhealthy",
        v1_inputs(health=PAST_ONLY),
        Action.WAIT,
        Reason.UNHEALTHY_FIRST_STRIKE,
        True,
    ),
    (
        "missing schedule second run updates",
        v1_inputs(health=NO_FILE, state=state(unhealthy_marked=True)),
        Action.UPDATE,
        Reason.UPDATE_AGENT_UNHEALTHY,
        False,
    ),
    (
        "healthy again clears the marker",
        v1_inputs(state=state(unhealthy_marked=True)),
        Action.WAIT,
        Reason.OUTSIDE_MAINTENANCE_WINDOW,
        False,
    ),
    (
        "critical bypasses local blackout by default",
        v1_inputs(
            cluster=channel(critical=True),
            settings=settings(blackouts=(window(["tue"], "10:00", "2h"),)),
        ),
        Action.UPDATE,
        Reason.UPDATE_CRITICAL,
        None,
    ),
    (
        "critical respects local blackout when the admin says so",
        v1_inputs(
            cluster=channel(critical=True),
            settings=settings(
                blackouts=(window(["tue"], "10:00", "2h"),), critical_bypasses_local_window=False
            ),
        ),
        Action.WAIT,
        Reason.IN_BLACKOUT,
        None,
    ),
    (
        "critical respects local window when the admin says so",
        v1_inputs(
            cluster=channel(critical=True),
            settings=settings(
                local_windows=(window(["sat"], "02:00", "1h"),),
                critical_bypasses_local_window=False,
            ),
        ),
        Action.WAIT,
        Reason.OUTSIDE_LOCAL_WINDOW,
        None,
    ),
    (
        "inside maintenance window but outside local window",
        v1_inputs(
            health=IN_WINDOW, settings=settings(local_windows=(window(["sat"], "02:00", "1h"),))
        ),
        Action.WAIT,
        Reason.OUTSIDE_LOCAL_WINDOW,
        False,
    ),
    (
        "pinned beats critical",
        v1_inputs(cluster=channel(critical=True), settings=settings(pinned=True)),
        Action.NOTHING,
        Reason.PINNED,
        None,
    ),
    (
        "skip beats critical",
        v1_inputs(cluster=channel(critical=True), state=state(skip=TARGET)),
        Action.NOTHING,
        Reason.TARGET_SKIPPED,
        None,
    ),
    (
        "disabled beats critical",
        v1_inputs(cluster=channel(critical=True), settings=settings(enabled=False)),
        Action.NOTHING,
        Reason.DISABLED,
        None,
    ),
    (
        "forced outside maintenance window",
        v1_inputs(forced=True),
        Action.UPDATE,
        Reason.UPDATE_FORCED,
        None,
    ),
]


@pytest.mark.parametrize(
    ("inputs", "action", "reason", "marker"),
    [row[1:] for row in V1_ROWS],
    ids=[row[0] for row in V1_ROWS],
)
def test_v1_decision_table(
    inputs: DecisionInputs, action: Action, reason: Reason, marker: bool | None
) -> None:
    decision = run(inputs)
    assert (decision.action, decision.reason) == (action, reason), decision.message
    assert decision.mark_unhealthy is marker


def test_preflight_needs_no_cluster_answer() -> None:
    assert preflight(None) is not None
    assert preflight(settings(enabled=False)) is not None
    assert preflight(settings()) is None


def test_jitter_is_drawn_from_the_injected_random_source_and_bounded() -> None:
    inputs = v2_inputs(cluster=ClusterView(find=find_answer(jitter_seconds=120)))
    delays = {run(inputs, seed).delay for seed in range(50)}
    assert len(delays) > 40
    assert all(timedelta(0) <= d < timedelta(seconds=120) for d in delays)
    assert run(inputs, 3) == run(inputs, 3)


def test_forced_update_has_no_jitter() -> None:
    inputs = v2_inputs(forced=True, cluster=ClusterView(find=find_answer(jitter_seconds=600)))
    assert run(inputs).delay == timedelta(0)


def test_zero_jitter_updates_immediately() -> None:
    assert run(v2_inputs(cluster=ClusterView(find=find_answer(jitter_seconds=0)))).delay == (
        timedelta(0)
    )


def test_target_flags_follow_the_cluster_edition() -> None:
    fips = replace(find_answer(), fips=True)
    decision = run(v2_inputs(cluster=ClusterView(find=fips)))
    assert decision.target == Revision.of("17.2.1", "Enterprise", "FIPS")
    community = replace(find_answer(), edition=Edition.COMMUNITY)
    assert run(v2_inputs(cluster=ClusterView(find=community))).target == Revision.of("17.2.1")


@pytest.mark.parametrize("edition", [Edition.OSS, Edition.UNKNOWN], ids=["oss", "unknown"])
def test_agpl_edition_is_refused_without_a_custom_base_url(edition: Edition) -> None:
    answer = replace(find_answer(), edition=edition)
    refused = run(v2_inputs(cluster=ClusterView(find=answer)))
    assert (refused.action, refused.reason) == (Action.ERROR, Reason.EDITION_UNAVAILABLE)
    mirrored = run(
        v2_inputs(
            cluster=ClusterView(find=answer), settings=settings(base_url="https://mirror.local")
        )
    )
    assert mirrored.action is Action.UPDATE
    assert mirrored.target == Revision.of("17.2.1")


def test_outside_local_window_says_when_it_opens() -> None:
    decision = run(v2_inputs(settings=settings(local_windows=(window(["sat"], "02:00", "3h"),))))
    assert decision.next_check == datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    assert "2026-11-28 02:00 UTC" in decision.message


def test_blackout_says_when_it_ends() -> None:
    decision = run(v2_inputs(settings=settings(blackouts=(window(["tue"], "10:00", "2h"),))))
    assert decision.next_check == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert "2026-11-24 12:00 UTC" in decision.message


def test_v1_waiting_names_the_next_maintenance_window() -> None:
    decision = run(v1_inputs())
    assert decision.next_check == NOW + timedelta(hours=5)
    assert decision.target == TARGET


def test_unreachable_cluster_names_the_cause_and_next_try() -> None:
    decision = run(v2_inputs(cluster=ClusterView(failure="TLS: unknown certificate authority")))
    assert "unknown certificate authority" in decision.message
    assert decision.next_check == NOW + timedelta(minutes=5)


def test_skip_message_says_the_version_is_marked_broken() -> None:
    decision = run(v2_inputs(state=state(skip=TARGET)))
    assert "marked broken" in decision.message
    assert "17.2.1_ent" in decision.message


def test_v1_uses_the_find_answer_for_edition_and_compatibility() -> None:
    find = replace(find_answer(), auto_update=None, edition=Edition.COMMUNITY)
    view = ClusterView(find=find, channel=ChannelAnswer(Version.parse("19.0.0"), critical=True))
    decision = run(v1_inputs(cluster=view))
    assert (decision.action, decision.reason) == (Action.ERROR, Reason.INCOMPATIBLE_TARGET)


def test_skip_matches_the_version_whatever_the_flags() -> None:
    # teleport-update compares skip by version only: a build that failed here is not retried
    # because the cluster switched edition (ent -> ent+fips).
    fips = replace(find_answer(), fips=True)
    decision = run(v2_inputs(cluster=ClusterView(find=fips), state=state(skip=TARGET)))
    assert (decision.action, decision.reason) == (Action.NOTHING, Reason.TARGET_SKIPPED)
    v1 = run(v1_inputs(state=state(skip=Revision.of("17.2.1", "Enterprise", "FIPS"))))
    assert (v1.action, v1.reason) == (Action.NOTHING, Reason.TARGET_SKIPPED)


def test_another_version_is_not_skipped() -> None:
    decision = run(v2_inputs(state=state(skip=Revision.of("17.2.0", "Enterprise"))))
    assert decision.action is Action.UPDATE


@pytest.mark.parametrize("edition", [Edition.OSS, Edition.UNKNOWN], ids=["oss", "unknown"])
def test_agpl_agent_already_on_target_is_up_to_date_not_an_error(edition: Edition) -> None:
    answer = replace(find_answer(), edition=edition)
    up_to_date = run(v2_inputs(cluster=ClusterView(find=answer), state=state(active=PLAIN)))
    assert (up_to_date.action, up_to_date.reason) == (Action.NOTHING, Reason.UP_TO_DATE)
    skipped = run(v2_inputs(cluster=ClusterView(find=answer), state=state(skip=PLAIN)))
    assert (skipped.action, skipped.reason) == (Action.NOTHING, Reason.TARGET_SKIPPED)


def test_agpl_refusal_beats_incompatible_and_bad_memory() -> None:
    answer = replace(find_answer(), edition=Edition.OSS)
    decision = run(v2_inputs(cluster=ClusterView(find=answer), state=state(bad=frozenset({PLAIN}))))
    assert decision.reason is Reason.EDITION_UNAVAILABLE


@pytest.mark.parametrize("url", ["HTTPS://mirror.example.com", "Https://mirror.example.com"])
def test_base_url_scheme_is_case_insensitive(url: str) -> None:
    assert preflight(settings(base_url=url)) is None


@pytest.mark.parametrize("url", ["http://mirror.example.com", "HTTP://mirror", "ftp://x", "mirror"])
def test_non_tls_base_urls_are_refused_naming_them(url: str) -> None:
    decision = preflight(settings(base_url=url))
    assert decision is not None and decision.reason is Reason.INSECURE_BASE_URL
    assert url in decision.message


def test_a_proxy_that_omits_its_edition_is_assumed_community_and_says_so() -> None:
    old_proxy = replace(find_answer(), edition=Edition.COMMUNITY, edition_reported=False)
    decision = run(v2_inputs(cluster=ClusterView(find=old_proxy)))
    assert decision.action is Action.UPDATE and decision.target == PLAIN
    assert "did not report its edition" in decision.message
    assert "did not report" not in run(v2_inputs()).message
