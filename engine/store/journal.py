"""The step journal of one update or rollback: what a crash left half-done, and its undo.

Written atomically before each step that changes the host. A journal found at the start of
the next run means the previous one died: ``Transaction.recover`` finishes it forward (the
new version was already verified healthy) or rolls it back to the recorded links and unit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from engine.errors import StateError
from engine.fsutil import atomic_write

__all__ = ["Journal", "JournalEntry", "Step"]


class Step(StrEnum):
    BEGIN = "begin"  # nothing changed on the host yet (old backup may be deleted)
    INSTALLED = "installed"  # the target version dir is complete
    SWITCHED = "switched"  # links and unit point to the target
    RELOADED = "reloaded"  # the agent was told to re-exec
    VERIFIED = "verified"  # the target passed its health check; update.yaml not yet written


@dataclass(frozen=True)
class JournalEntry:
    operation: str  # update | rollback
    target: str
    previous_active: str | None
    previous_backup: str | None
    links: dict[str, str]
    unit_saved: bool
    step: Step
    started: str

    def at(self, step: Step) -> JournalEntry:
        return replace(self, step=step)


class Journal:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / "journal.json"
        self.unit_copy = state_dir / "journal-unit.bak"

    def write(self, entry: JournalEntry) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps(asdict(entry), indent=2).encode(), mode=0o600)

    def read(self) -> JournalEntry | None:
        try:
            data: Any = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise StateError(f"unreadable update journal {self.path}: {e}") from e
        try:
            return JournalEntry(**{**data, "step": Step(data["step"])})
        except (TypeError, KeyError, ValueError) as e:
            raise StateError(f"invalid update journal {self.path}: {e}") from e

    def save_unit(self, unit: Path) -> bool:
        if not unit.is_file():
            self.unit_copy.unlink(missing_ok=True)
            return False
        self.state_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.unit_copy, unit.read_bytes(), mode=0o600)
        return True

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self.unit_copy.unlink(missing_ok=True)
