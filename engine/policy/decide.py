"""The update decision: one pure function, no I/O.

``decide(inputs)`` answers "should this agent be updated now, to what, and if not, why not
and when will we look again?". It follows PROTOCOL §1.1 step by step, in that exact order:

    1  no config / disabled        -> nothing (and the shell makes no request: see ``preflight``)
    2  empty link directory        -> error
    3  custom base URL not https   -> error
    4  cluster unreachable         -> nothing, agent left running
    5  pinned                      -> nothing
    6  outside the cluster window  -> nothing (unless forced)          [v2]
    7  empty target                -> error                            [v2]
    8  target == active            -> nothing
    9  target version == skip's    -> nothing, marked broken here (flags ignored, as Teleport)
                                      until its cool-down is over (Shepherd: then a retry,
                                      at most policy.retry_failed_max tries in all)
       AGPL / unknown edition      -> error unless a custom base URL is set
       target remembered as bad    -> nothing, until the admin clears it   (Shepherd)
       target incompatible         -> error (major above / > 1 behind the cluster)
       local blackout / window     -> wait (forced and, by default, critical bypass them)
   10  jitter                      -> update after a random delay in [0, jitter) unless forced

v1 (PROTOCOL §4) replaces 6-7 with the channel's version and decides the trigger after the
compatibility check: critical, inside an exported maintenance window, or the agent
unhealthy (no future window) on two consecutive runs — the first run only sets a marker.

Randomness comes from the injected ``random.Random``; time from ``inputs.now``.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from engine.policy.answers import AutoUpdate, ChannelAnswer, FindAnswer
from engine.policy.decision import Action, Decision, Reason
from engine.policy.gates import (
    common_checks,
    edition_refusal,
    format_interval,
    local_window_wait,
)
from engine.policy.inputs import AgentState, DecisionInputs, LocalSettings
from engine.versions import Flag, Revision

__all__ = ["decide", "preflight"]


_NOT_CONFIGURED = Decision(
    Action.NOTHING,
    Reason.NOT_CONFIGURED,
    "No update configuration for this agent: Shepherd does nothing and asks no one.",
)


def preflight(settings: LocalSettings | None) -> Decision | None:
    """Steps 1-3, which need no cluster answer. None means: go and ask the cluster."""
    if settings is None:
        return _NOT_CONFIGURED
    if not settings.enabled:
        return Decision(
            Action.NOTHING,
            Reason.DISABLED,
            "Updates are disabled for this agent on this host; enable them to resume.",
        )
    if not settings.link_dir.strip():
        return Decision(
            Action.ERROR,
            Reason.NO_LINK_DIR,
            "The link directory (spec.path) is empty: set where the agent's binaries are linked.",
        )
    if settings.base_url is not None and not settings.base_url.lower().startswith("https://"):
        return Decision(
            Action.ERROR,
            Reason.INSECURE_BASE_URL,
            f"The custom download base URL {settings.base_url!r} must use TLS (https://); "
            "there is no plain-HTTP opt-out.",
        )
    return None


def decide(inputs: DecisionInputs, rng: random.Random) -> Decision:
    """Decide one update run. Pure: the same inputs and rng state give the same Decision."""
    settings = inputs.settings
    early = preflight(settings)
    if early is not None or settings is None:
        return early or _NOT_CONFIGURED
    cluster = inputs.cluster
    poll_at = inputs.now + settings.poll_interval

    if cluster.failure is not None or (cluster.find is None and cluster.channel is None):
        cause = cluster.failure or "no answer was obtained"
        return Decision(
            Action.NOTHING,
            Reason.CLUSTER_UNREACHABLE,
            f"Could not ask the cluster ({cause}); nothing changed and the agent keeps "
            "running; it is asked again at the next check.",
            next_check=poll_at,
        )
    if settings.pinned:
        active = inputs.state.active
        pinned_to = f" at {active.version}" if active else ""
        offered = _offered(inputs)
        offers = f" The cluster offers {offered}." if offered not in (None, active) else ""
        return Decision(
            Action.NOTHING,
            Reason.PINNED,
            f"This agent is pinned{pinned_to}: Shepherd will not update it until it is "
            f"unpinned.{offers}",
            target=offered,
        )
    if cluster.find is not None and cluster.find.auto_update is not None:
        return _retry_note(
            inputs,
            _edition_note(
                cluster.find,
                _decide_v2(inputs, settings, cluster.find, cluster.find.auto_update, rng, poll_at),
            ),
        )
    if cluster.channel is not None:
        return _retry_note(
            inputs,
            _edition_note(
                cluster.find, _decide_v1(inputs, settings, cluster.channel, cluster.find, poll_at)
            ),
        )
    return Decision(
        Action.NOTHING,
        Reason.CLUSTER_UNREACHABLE,
        "The cluster does not manage agent versions and its v1 channel was not consulted; "
        "nothing changed.",
        next_check=poll_at,
    )


def _decide_v2(
    inputs: DecisionInputs,
    settings: LocalSettings,
    find: FindAnswer,
    auto: AutoUpdate,
    rng: random.Random,
    poll_at: datetime,
) -> Decision:
    group = settings.group or "default"
    if not auto.agent_auto_update and not inputs.forced:
        offered = find.target(find.install_flags())
        offers = (
            f"{offered} is offered but the cluster has not opened the update window"
            if offered is not None and offered != inputs.state.active
            else "The cluster has not opened the update window"
        )
        return Decision(
            Action.NOTHING,
            Reason.OUTSIDE_CLUSTER_WINDOW,
            f"{offers} for group {group!r}; "
            "Shepherd asks again at the next check (or use 'update now').",
            target=offered,
            next_check=poll_at,
        )
    if auto.agent_version is None:
        return Decision(
            Action.ERROR,
            Reason.NO_TARGET,
            "The cluster answered without an agent version to install.",
            next_check=poll_at,
        )
    target = Revision(auto.agent_version, find.install_flags())
    blocked = common_checks(
        inputs, target, find.server_version, poll_at, edition_refusal(find, settings)
    )
    if blocked is not None:
        return blocked
    if inputs.forced:
        return _forced_update(target)
    local = local_window_wait(inputs, settings, target, bypass=False)
    if local is not None:
        return local
    delay = timedelta(seconds=rng.random() * max(auto.jitter_seconds, 0))
    return Decision(
        Action.UPDATE,
        Reason.UPDATE_IN_WINDOW,
        f"The cluster's window for group {group!r} is open: updating to {target} "
        f"after a random delay of {int(delay.total_seconds())} s "
        f"(jitter up to {auto.jitter_seconds} s).",
        target=target,
        delay=delay,
    )


def _decide_v1(
    inputs: DecisionInputs,
    settings: LocalSettings,
    channel: ChannelAnswer,
    find: FindAnswer | None,
    poll_at: datetime,
) -> Decision:
    if channel.version is None:
        return Decision(
            Action.NOTHING,
            Reason.CHANNEL_NO_VERSION,
            "The version channel offers no version ('none'); Shepherd asks again at the "
            "next check.",
            next_check=poll_at,
        )
    target = Revision(channel.version, _v1_flags(inputs.state, find))
    blocked = common_checks(
        inputs,
        target,
        find.server_version if find is not None else None,
        poll_at,
        edition_refusal(find, settings) if find is not None else None,
    )
    if blocked is not None:
        return blocked
    if inputs.forced:
        return _forced_update(target)
    if channel.critical:
        local = local_window_wait(
            inputs, settings, target, bypass=settings.critical_bypasses_local_window
        )
        if local is not None:
            return local
        return Decision(
            Action.UPDATE,
            Reason.UPDATE_CRITICAL,
            f"The channel marks {target.version} as critical: updating now, outside any "
            "maintenance window.",
            target=target,
        )

    schedule = inputs.health.exported_schedule
    now = inputs.now
    window = schedule.next_window(now) if schedule is not None else None
    if window is not None:
        if not window.contains(now):
            return Decision(
                Action.WAIT,
                Reason.OUTSIDE_MAINTENANCE_WINDOW,
                f"Update to {target} waits for the next maintenance window, "
                f"{format_interval(window)}.",
                target=target,
                next_check=window.start,
                mark_unhealthy=False,
            )
        local = local_window_wait(inputs, settings, target, bypass=False)
        if local is not None:
            return _with_marker(local, mark=False)
        return Decision(
            Action.UPDATE,
            Reason.UPDATE_IN_MAINTENANCE_WINDOW,
            f"Inside the maintenance window {format_interval(window)}: updating to {target}.",
            target=target,
            mark_unhealthy=False,
        )

    missing = "is missing" if schedule is None else "has no upcoming window"
    if not inputs.state.unhealthy_marked:
        return Decision(
            Action.WAIT,
            Reason.UNHEALTHY_FIRST_STRIKE,
            f"The agent's exported maintenance schedule {missing}, so the agent looks "
            "unhealthy. If it still does at the next check, Shepherd "
            f"updates to {target}.",
            target=target,
            next_check=poll_at,
            mark_unhealthy=True,
        )
    local = local_window_wait(inputs, settings, target, bypass=False)
    if local is not None:
        return local
    return Decision(
        Action.UPDATE,
        Reason.UPDATE_AGENT_UNHEALTHY,
        f"The agent's exported maintenance schedule {missing} on two consecutive runs: "
        f"updating to {target} to restore a healthy agent.",
        target=target,
        mark_unhealthy=False,
    )


def _offered(inputs: DecisionInputs) -> Revision | None:
    """The revision the cluster offers, whether or not it may be installed now."""
    find, channel = inputs.cluster.find, inputs.cluster.channel
    if find is not None and find.auto_update is not None:
        return find.target(find.install_flags())
    if channel is not None and channel.version is not None:
        return Revision(channel.version, _v1_flags(inputs.state, find))
    return None


def _forced_update(target: Revision) -> Decision:
    return Decision(
        Action.UPDATE,
        Reason.UPDATE_FORCED,
        f"Update requested now: updating to {target} without waiting for a window or jitter.",
        target=target,
    )


def _edition_note(find: FindAnswer | None, decision: Decision) -> Decision:
    """PROTOCOL §1: an older proxy that omits ``edition``/``fips`` is taken as Community,
    non-FIPS — and the status says so, since a wrong guess would install the wrong build."""
    if find is None or find.edition_reported:
        return decision
    return replace(
        decision,
        message=f"{decision.message} (The proxy did not report its edition: assuming "
        "Community, non-FIPS.)",
    )


def _retry_note(inputs: DecisionInputs, decision: Decision) -> Decision:
    """An update to a version marked broken here is a retry after its cool-down: say so,
    and let the transaction install it although it is ``skip``."""
    skip, target = inputs.state.skip, decision.target
    if not decision.updates or target is None or skip is None or skip.version != target.version:
        return decision
    failure = inputs.state.failure_of(target)
    tries = ""
    if failure is not None and inputs.settings is not None:
        tries = f" (try {failure.tries + 1} of {inputs.settings.retry.max_tries})"
    return replace(
        decision,
        message=f"{decision.message} {target} failed here before: its cool-down is over, "
        f"so it is tried again{tries}.",
        retrying=True,
    )


def _with_marker(decision: Decision, *, mark: bool) -> Decision:
    return Decision(
        decision.action,
        decision.reason,
        decision.message,
        target=decision.target,
        delay=decision.delay,
        next_check=decision.next_check,
        mark_unhealthy=mark,
    )


def _v1_flags(state: AgentState, find: FindAnswer | None) -> frozenset[Flag]:
    if find is not None:
        return find.install_flags()
    if state.active is not None:
        return state.active.flags
    return frozenset()
