"""Shepherd's own record of each agent, kept beside update.yaml (never inside it), in
``agent-state.json``:

- bad revisions: rolled back by an admin (or after a failed update), with the reason, who
  and when; the policy never updates to them until an admin clears them.
- the v1 "unhealthy" marker (first strike of the two-strike rule).
- the last failure, for status and notifications.
- failed versions: why each update to a version failed here (a stable kind), when it last
  did and how often, for the cool-down retry (``engine.policy.failures``).
- how many checks in a row found the agent down or unhealthy (opt-in recovery).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import InvalidInput, StateError
from engine.fsutil import atomic_write
from engine.versions import Revision

__all__ = [
    "AgentRecord",
    "BadRevision",
    "FailedRecord",
    "load_agent_record",
    "save_agent_record",
]

FILE_NAME = "agent-state.json"


@dataclass(frozen=True)
class BadRevision:
    reason: str
    by_uid: int | None
    time: str


@dataclass(frozen=True)
class FailedRecord:
    """Why updates to one version failed here: a stable kind, the sentence, the last time
    (ISO 8601, UTC) and how many tries failed."""

    kind: str
    message: str
    time: str
    tries: int = 1


@dataclass(frozen=True)
class AgentRecord:
    bad: dict[str, BadRevision] = field(default_factory=dict)  # revision dir name -> why
    unhealthy_marked: bool = False
    last_failure: str = ""
    active_since: str = ""  # when the active revision was switched to (ISO 8601, UTC)
    active_revision: str = ""  # ... which revision that was (dir name)
    failed: dict[str, FailedRecord] = field(default_factory=dict)  # version -> why
    unhealthy_checks: int = 0  # consecutive checks that found the agent down or unhealthy

    def bad_revisions(self) -> frozenset[Revision]:
        found = set()
        for name in self.bad:
            try:
                found.add(Revision.parse_dir_name(name))
            except InvalidInput:
                continue
        return frozenset(found)

    def mark_bad(self, revision: Revision, reason: str, uid: int | None) -> AgentRecord:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        return replace(self, bad={**self.bad, revision.dir_name: BadRevision(reason, uid, stamp)})

    def activated(self, revision: Revision, at: datetime | None = None) -> AgentRecord:
        stamp = (at or datetime.now(UTC)).isoformat()
        return replace(self, active_since=stamp, active_revision=revision.dir_name)

    def active_since_for(self, revision: Revision | None) -> datetime | None:
        """When ``revision`` became active here, if Shepherd switched to it."""
        if revision is None or self.active_revision != revision.dir_name:
            return None
        try:
            return datetime.fromisoformat(self.active_since)
        except ValueError:
            return None

    def clear_bad(self, revision: Revision) -> AgentRecord:
        """Forget that ``revision`` is bad and that its version failed here."""
        return replace(
            self,
            bad={k: v for k, v in self.bad.items() if k != revision.dir_name},
            failed={k: v for k, v in self.failed.items() if k != str(revision.version)},
        )

    def failed_again(self, version: str, kind: str, message: str, at: datetime) -> AgentRecord:
        """One more failed try of ``version`` (the first one counts 1)."""
        before = self.failed.get(version)
        tries = before.tries + 1 if before is not None else 1
        stamp = at.astimezone(UTC).isoformat(timespec="seconds")
        return replace(
            self, failed={**self.failed, version: FailedRecord(kind, message, stamp, tries)}
        )

    def forget_failure(self, version: str) -> AgentRecord:
        return replace(self, failed={k: v for k, v in self.failed.items() if k != version})


def load_agent_record(state_dir: Path) -> AgentRecord:
    path = state_dir / FILE_NAME
    try:
        data: Any = json.loads(path.read_text())
    except FileNotFoundError:
        return AgentRecord()
    except (OSError, ValueError) as e:
        raise StateError(f"cannot read Shepherd's agent state {path}: {e}") from e
    if not isinstance(data, dict):
        raise StateError(f"invalid Shepherd agent state {path}: not an object")
    bad = {
        str(name): BadRevision(str(v.get("reason", "")), v.get("by_uid"), str(v.get("time", "")))
        for name, v in (data.get("bad") or {}).items()
        if isinstance(v, dict)
    }
    failed = {
        str(version): FailedRecord(
            str(v.get("kind", "")),
            str(v.get("message", "")),
            str(v.get("time", "")),
            v["tries"] if isinstance(v.get("tries"), int) else 1,
        )
        for version, v in (data.get("failed") or {}).items()
        if isinstance(v, dict)
    }
    checks = data.get("unhealthy_checks", 0)
    return AgentRecord(
        bad=bad,
        failed=failed,
        unhealthy_checks=checks if isinstance(checks, int) else 0,
        unhealthy_marked=bool(data.get("unhealthy_marked", False)),
        last_failure=str(data.get("last_failure", "")),
        active_since=str(data.get("active_since", "")),
        active_revision=str(data.get("active_revision", "")),
    )


def save_agent_record(state_dir: Path, record: AgentRecord) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(state_dir / FILE_NAME, json.dumps(asdict(record), indent=2).encode(), mode=0o644)
