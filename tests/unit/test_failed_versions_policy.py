"""The pure rules of issue 18: when a rollback is refused, what kind a failure is, and when a
version that failed here is tried again. Tables: each row names its situation."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest

from engine.policy.decide import decide
from engine.policy.decision import Action, Reason
from engine.policy.failures import FailedVersion, FailureKind, RetryRule, failure_kind
from engine.policy.rollback import rollback_refusal
from engine.versions import Revision
from tests.unit.test_decide import ACTIVE, NOW, TARGET, settings, state, v2_inputs, window

BACKUP = Revision.of("17.0.5", "Enterprise")


def refusal(**changes: Any) -> str | None:
    given: dict[str, Any] = {
        "active": ACTIVE,
        "backup": BACKUP,
        "backup_installed": True,
        "skip": None,
        "failed_target": None,
        "bad": frozenset(),
    } | changes
    found = rollback_refusal("default", **given)
    return found.code if found else None


ROLLBACKS = [
    ("an installed backup", {}, None),
    ("no backup", {"backup": None}, "no-backup"),
    ("the backup is the active version", {"backup": ACTIVE}, "no-backup"),
    ("the backup was removed", {"backup_installed": False}, "backup-not-installed"),
    ("the backup is remembered as bad", {"bad": frozenset({BACKUP})}, "backup-marked-bad"),
    ("the backup is skip", {"skip": Revision.of("17.0.5")}, "backup-failed-here"),
    ("the backup just failed", {"failed_target": BACKUP}, "backup-failed-here"),
    ("another version failed", {"failed_target": TARGET, "skip": TARGET}, None),
    (
        "just failed beats removed",
        {"failed_target": BACKUP, "backup_installed": False},
        "backup-failed-here",
    ),
    ("nothing active", {"active": None}, None),
]


@pytest.mark.parametrize(
    ("changes", "code"), [r[1:] for r in ROLLBACKS], ids=[r[0] for r in ROLLBACKS]
)
def test_when_a_rollback_is_refused(changes: dict[str, Any], code: str | None) -> None:
    assert refusal(**changes) == code


def test_a_refused_rollback_says_what_stays() -> None:
    found = rollback_refusal(
        "default",
        active=ACTIVE,
        backup=BACKUP,
        backup_installed=True,
        skip=BACKUP,
        failed_target=None,
        bad=(),
    )
    assert found is not None and f"{ACTIVE} stays active" in found.message


KINDS = [
    ("dead after the reload, never wrote a PID", "agent-not-running", False, "crashed-at-start"),
    ("crash loop, never wrote a PID", "agent-crashing", False, "crashed-at-start"),
    ("crash loop after it started", "agent-crashing", True, "restart-loop"),
    ("PID never stable after it started", "pid-unstable", True, "restart-loop"),
    ("readyz never answered", "not-ready", True, "never-ready"),
    ("ignored SIGHUP", "pid-unchanged", False, "ignored-reload"),
    ("reload refused", "reload-failed", False, "reload-error"),
    ("download or checksum", "install-failed", False, "install-error"),
    ("links or unit", "switch-failed", False, "install-error"),
    ("a code added later", "something-new", False, "never-ready"),
]


@pytest.mark.parametrize(
    ("code", "came_up", "kind"), [k[1:] for k in KINDS], ids=[k[0] for k in KINDS]
)
def test_the_kind_of_a_failure(code: str, came_up: bool, kind: str) -> None:
    assert failure_kind(code, came_up=came_up) is FailureKind(kind)
    assert FailureKind(kind).words


def failed(tries: int = 1, at: datetime = NOW) -> FailedVersion:
    return FailedVersion("17.2.1", FailureKind.CRASHED_AT_START, "crashed", at, tries)


def test_the_retry_rule() -> None:
    rule = RetryRule(timedelta(hours=24), 3)
    assert rule.retry_at(failed()) == NOW + timedelta(hours=24)
    assert rule.retry_at(failed(tries=3)) is None
    assert RetryRule(timedelta(0), 3).retry_at(failed()) is None


def skipped_inputs(failure: FailedVersion | None, **changes: Any) -> Any:
    failures = {"17.2.1": failure} if failure else {}
    return v2_inputs(state=state(skip=TARGET, failed=failures), **changes)


RETRIES = [
    ("skipped by teleport-update (no failure here)", None, NOW, Action.NOTHING),
    ("inside the cool-down", failed(), NOW + timedelta(hours=23), Action.NOTHING),
    ("the cool-down is over", failed(), NOW + timedelta(hours=24), Action.UPDATE),
    ("no tries left", failed(tries=3), NOW + timedelta(days=9), Action.NOTHING),
]


@pytest.mark.parametrize(
    ("failure", "now", "action"), [r[1:] for r in RETRIES], ids=[r[0] for r in RETRIES]
)
def test_a_skipped_version_is_retried_after_its_cool_down(
    failure: FailedVersion | None, now: datetime, action: Action
) -> None:
    decision = decide(skipped_inputs(failure, now=now), random.Random(1))
    assert decision.action is action
    if action is Action.NOTHING:
        assert decision.reason is Reason.TARGET_SKIPPED
    else:
        assert decision.retrying and "try 2 of 3" in decision.message


def test_the_retry_time_is_in_the_decision() -> None:
    decision = decide(skipped_inputs(failed(), now=NOW + timedelta(hours=1)), random.Random(1))
    assert decision.retry_at == NOW + timedelta(hours=24)
    assert "2026-11-25 10:30 UTC (try 2 of 3)" in decision.message


def test_a_retry_waits_for_the_host_window() -> None:
    inputs = skipped_inputs(
        failed(),
        now=NOW + timedelta(days=1),
        settings=settings(local_windows=(window(["sun"], "03:00", "1h"),)),
    )
    assert decide(inputs, random.Random(1)).reason is Reason.OUTSIDE_LOCAL_WINDOW


def test_a_version_rolled_back_by_hand_stays_bad_whatever_the_cool_down() -> None:
    inputs = v2_inputs(
        state=state(bad=frozenset({TARGET}), failed={"17.2.1": failed()}),
        now=NOW + timedelta(days=30),
    )
    assert decide(inputs, random.Random(1)).reason is Reason.TARGET_MARKED_BAD
