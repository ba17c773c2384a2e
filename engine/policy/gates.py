"""The checks that hold an update back, shared by the v2 (find) and v1 (channel) paths of
``decide``: up to date, skipped, edition, remembered as bad, incompatible, and the host's own
blackouts and windows. Each returns the Decision that stops the update, or None. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.policy.answers import FindAnswer
from engine.policy.decision import Action, Decision, Reason
from engine.policy.inputs import DecisionInputs, LocalSettings
from engine.policy.schedule import Interval, blackout_at, inside_any, next_open
from engine.policy.schedule import next_start as next_local_window
from engine.versions import Revision, Version, compatibility_problem

__all__ = [
    "common_checks",
    "describe_revision",
    "edition_refusal",
    "format_interval",
    "format_time",
    "local_window_wait",
    "skipped_for_now",
]


def common_checks(
    inputs: DecisionInputs,
    target: Revision,
    server_version: Version | None,
    poll_at: datetime,
    refusal: Decision | None,
) -> Decision | None:
    """Steps 8 and 9, then the AGPL refusal, Shepherd's bad-version memory and the
    compatibility rule.

    As in ``teleport-update``, the skip check compares versions only: a version that failed
    here stays skipped even if the cluster's edition flags change, and an AGPL/unknown
    edition is only refused once there is something to install (an agent already on the
    target is simply up to date).
    """
    state = inputs.state
    if state.active == target:
        return Decision(
            Action.NOTHING,
            Reason.UP_TO_DATE,
            f"Up to date: {target} is the cluster's target and is active.",
            target=target,
            next_check=poll_at,
        )
    if state.skip is not None and state.skip.version == target.version:
        skipped = skipped_for_now(inputs, target, poll_at)
        if skipped is not None:
            return skipped
    if refusal is not None:
        return refusal
    if target in state.bad:
        return Decision(
            Action.NOTHING,
            Reason.TARGET_MARKED_BAD,
            f"{target} was rolled back on this host and is remembered as bad; staying on "
            f"{describe_revision(state.active)} until an admin clears it.",
            target=target,
            next_check=poll_at,
        )
    if server_version is not None:
        problem = compatibility_problem(target.version, server_version)
        if problem is not None:
            return Decision(
                Action.ERROR,
                Reason.INCOMPATIBLE_TARGET,
                f"Refusing to install {target}: {problem}.",
                target=target,
                next_check=poll_at,
            )
    return None


def skipped_for_now(inputs: DecisionInputs, target: Revision, poll_at: datetime) -> Decision | None:
    """Step 9 with Shepherd's cool-down: a version marked broken (``skip``) is skipped until
    its retry is due (``engine.policy.failures``); None when it may be tried again now."""
    state = inputs.state
    settings = inputs.settings
    failure = state.failure_of(target)
    staying = f"staying on {describe_revision(state.active)}"
    if failure is None or settings is None:  # e.g. marked by teleport-update
        return Decision(
            Action.NOTHING,
            Reason.TARGET_SKIPPED,
            f"{state.skip} failed its health check on this host and is marked broken; "
            f"{staying} until the cluster offers another version "
            f"(or 'shepherd clear-bad {target.version}').",
            target=target,
            next_check=poll_at,
        )
    rule = settings.retry
    retry_at = rule.retry_at(failure)
    why = f"{target} failed here at {format_time(failure.time)} ({failure.kind.words})"
    if retry_at is None:
        tries = f"{failure.tries} {'try' if failure.tries == 1 else 'tries'}"
        return Decision(
            Action.NOTHING,
            Reason.TARGET_SKIPPED,
            f"{why} and is marked broken after {tries}; {staying} until the cluster offers "
            f"another version or an admin clears it ('shepherd clear-bad {target.version}').",
            target=target,
            next_check=poll_at,
        )
    if inputs.now < retry_at:
        return Decision(
            Action.NOTHING,
            Reason.TARGET_SKIPPED,
            f"{why} and is marked broken; {staying}. It is tried again from "
            f"{format_time(retry_at)} (try {failure.tries + 1} of {rule.max_tries}), when "
            "an update may start then.",
            target=target,
            next_check=retry_at,
            retry_at=retry_at,
        )
    return None


def local_window_wait(
    inputs: DecisionInputs, settings: LocalSettings, target: Revision, *, bypass: bool
) -> Decision | None:
    """The host's own blackouts and windows, applied on top of the cluster's."""
    if bypass:
        return None
    now = inputs.now
    blackout = blackout_at(settings.blackouts, now)
    if blackout is not None:
        return Decision(
            Action.WAIT,
            Reason.IN_BLACKOUT,
            f"Update to {target} is held by a local blackout until {format_time(blackout.end)}.",
            target=target,
            next_check=blackout.end,
        )
    window = None
    if settings.local_windows and inside_any(settings.local_windows, now) is None:
        window = next_open(settings.local_windows, settings.blackouts, now) or next_local_window(
            settings.local_windows, now
        )
    if window is not None:
        return Decision(
            Action.WAIT,
            Reason.OUTSIDE_LOCAL_WINDOW,
            f"Update to {target} waits for this host's next maintenance window, "
            f"{format_interval(window)} (if the cluster still allows it then).",
            target=target,
            next_check=window.start,
        )
    return None


def edition_refusal(find: FindAnswer, settings: LocalSettings) -> Decision | None:
    """AGPL (``oss``) or unknown editions have no builds on the public CDN."""
    if find.flags() is not None or settings.base_url is not None:
        return None
    return Decision(
        Action.ERROR,
        Reason.EDITION_UNAVAILABLE,
        f"The cluster's edition is {find.edition.value!r}: there are no such builds on "
        "the public CDN; set a custom download base URL to update this agent.",
    )


def describe_revision(revision: Revision | None) -> str:
    return str(revision) if revision is not None else "the current installation"


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_interval(window: Interval) -> str:
    return f"{format_time(window.start)} to {format_time(window.end)}"
