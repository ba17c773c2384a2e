"""The declarations of the settings for versions that failed here and for unhealthy agents
(issue 18): part of ``engine.settings.schema``'s ``OPTIONS``, declared once here."""

from __future__ import annotations

from datetime import timedelta

from engine.policy.failures import DEFAULT_RETRY_AFTER, DEFAULT_RETRY_MAX
from engine.settings.kinds import Bool, Count, Duration
from engine.settings.option import Option

__all__ = ["FAILED_VERSION_OPTIONS"]

FAILED_VERSION_OPTIONS: tuple[Option, ...] = (
    Option(
        "policy.retry_failed_after",
        "Retry a failed version after",
        Duration(timedelta(0), timedelta(days=30)),
        DEFAULT_RETRY_AFTER,
        "A version whose update failed here (crashed, never ready, restart loop, install "
        "error) is tried again this long after it last failed, inside the update windows; "
        "0s: never by itself (until 'shepherd clear-bad'). A version an admin rolled back "
        "stays remembered as bad until cleared.",
    ),
    Option(
        "policy.retry_failed_max",
        "Tries of a failed version",
        Count(1, 100),
        DEFAULT_RETRY_MAX,
        "How many times in all a failing version is tried before Shepherd waits for "
        "'shepherd clear-bad' or another target.",
    ),
    Option(
        "policy.recover_unhealthy",
        "Recover an unhealthy agent",
        Bool(),
        False,
        "When a v2 agent is down or not ready for policy.unhealthy_checks checks in a row: "
        "apply the cluster's pending update now, or reinstall the active version when there "
        "is none. Off: only say so (status, history, notifications).",
    ),
    Option(
        "policy.unhealthy_checks",
        "Unhealthy checks before acting",
        Count(1, 100),
        3,
        "How many checks in a row must find an agent down or not ready before it is "
        "reported (and, with policy.recover_unhealthy, recovered).",
    ),
)
