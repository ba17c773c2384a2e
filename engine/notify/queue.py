"""The notices still to deliver, one entry per notice and channel, kept across restarts.

The file (``<state>/notify-queue.json``) is rewritten whole and atomically after every
change; it holds no secret. It is bounded: when full, the oldest entry makes room. A file
that cannot be read is set aside as ``.bad`` (and said so), never a reason not to start.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from engine.errors import InvalidInput
from engine.fsutil import atomic_write
from engine.notify.notice import Notice

__all__ = ["NoticeQueue", "Pending"]

_log = logging.getLogger("shepherd.notify")
_VERSION = 1


@dataclass(frozen=True)
class Pending:
    channel: str  # "webhook" | "email"
    notice: Notice
    attempts: int = 0
    next_try: float = 0.0
    last_error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "notice": self.notice.as_json(),
            "attempts": self.attempts,
            "next_try": self.next_try,
            "last_error": self.last_error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Pending:
        try:
            return cls(
                channel=str(data["channel"]),
                notice=Notice.from_json(data["notice"]),
                attempts=int(data["attempts"]),
                next_try=float(data["next_try"]),
                last_error=None if data.get("last_error") is None else str(data["last_error"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidInput(f"not a queued notice: {e!r}") from e

    def failed(self, error: str, next_try: float) -> Pending:
        return replace(self, attempts=self.attempts + 1, next_try=next_try, last_error=error)


class NoticeQueue:
    """Not thread-safe: its owner (the ``Notifier``) serialises access."""

    def __init__(self, path: Path, capacity: int) -> None:
        self.path = path
        self.capacity = capacity
        self.entries: list[Pending] = self._load()

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: Pending) -> Pending | None:
        """Queue ``entry`` and save; the entry dropped to make room, if any."""
        dropped = self.entries.pop(0) if len(self.entries) >= self.capacity else None
        self.entries.append(entry)
        self.save()
        return dropped

    def replace(self, old: Pending, new: Pending | None) -> None:
        """Put ``new`` where ``old`` was (None: remove it) and save."""
        index = self.entries.index(old)
        if new is None:
            del self.entries[index]
        else:
            self.entries[index] = new
        self.save()

    def retry_all_now(self, now: float) -> None:
        self.entries = [replace(e, next_try=min(e.next_try, now)) for e in self.entries]

    def due(self, now: float) -> list[Pending]:
        return [e for e in self.entries if e.next_try <= now]

    def next_due(self) -> float | None:
        return min((e.next_try for e in self.entries), default=None)

    def save(self) -> None:
        document = {"version": _VERSION, "pending": [e.as_json() for e in self.entries]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps(document, indent=1).encode() + b"\n", mode=0o600)

    def _load(self) -> list[Pending]:
        try:
            document = json.loads(self.path.read_bytes())
            if not isinstance(document, dict) or document.get("version") != _VERSION:
                raise InvalidInput(f"not a version {_VERSION} notice queue")
            entries = [Pending.from_json(item) for item in document["pending"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, InvalidInput) as e:
            aside = self.path.with_name(self.path.name + ".bad")
            _log.error("notice queue %s is unreadable (%s); set aside as %s", self.path, e, aside)
            self.path.replace(aside)
            return []
        return entries[-self.capacity :]
