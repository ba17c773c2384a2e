"""One notice for an admin: what happened to which agent, in words and as JSON.

    notice = Notice.new("updated", agent="default", title="Agent updated", message="…")
    notice.as_json()      # the webhook's body and the queue's record
    Notice.from_json(d)   # back again; a malformed record raises InvalidInput

The kinds are the state changes an admin must know about (DESIGN.md, "quiet, useful
notifications"); each channel is subscribed to some of them (``notifications.*_kinds``).
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from engine.errors import InvalidInput
from engine.settings.schema import NOTICE_KINDS as KINDS

__all__ = ["KINDS", "LEVELS", "Notice"]

LEVELS = ("info", "warning", "error")
_TEST = "test"  # `shepherd notify test`: sent to every channel whatever its kinds


@dataclass(frozen=True)
class Notice:
    id: str
    kind: str
    agent: str | None
    level: str
    title: str
    message: str
    time: float
    host: str

    @classmethod
    def new(
        cls,
        kind: str,
        *,
        agent: str | None,
        title: str,
        message: str,
        level: str = "info",
        now: float | None = None,
    ) -> Notice:
        """A fresh notice with its own id (the receiver's key against a retried duplicate).

        Raises:
            InvalidInput: an unknown kind or level.
        """
        notice = cls(
            id=str(uuid.uuid4()),
            kind=kind,
            agent=agent,
            level=level,
            title=title,
            message=message,
            time=time.time() if now is None else now,
            host=socket.gethostname(),
        )
        notice.validate()
        return notice

    @classmethod
    def test(cls) -> Notice:
        return cls.new(
            _TEST,
            agent=None,
            title="Test notice",
            message="Shepherd can reach you here (sent by 'shepherd notify test').",
        )

    @property
    def is_test(self) -> bool:
        return self.kind == _TEST

    @property
    def time_text(self) -> str:
        return datetime.fromtimestamp(self.time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def validate(self) -> None:
        if self.kind not in (*KINDS, _TEST):
            raise InvalidInput(f"unknown notice kind {self.kind!r}: expected one of {KINDS}")
        if self.level not in LEVELS:
            raise InvalidInput(f"unknown notice level {self.level!r}: expected one of {LEVELS}")

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "time": self.time_text, "unix_time": self.time}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notice:
        """Raises: InvalidInput: a record that is not a notice (naming what is wrong)."""
        try:
            agent = data["agent"]
            notice = cls(
                id=str(data["id"]),
                kind=str(data["kind"]),
                agent=None if agent is None else str(agent),
                level=str(data["level"]),
                title=str(data["title"]),
                message=str(data["message"]),
                time=float(data["unix_time"]),
                host=str(data["host"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidInput(f"not a notice record ({e!r}): {dict(data)!r:.200}") from e
        notice.validate()
        return notice

    def subject(self) -> str:
        about = f" {self.agent}:" if self.agent else ""
        return f"[shepherd] {self.host}:{about} {self.title}"

    def text(self) -> str:
        """The e-mail's body."""
        lines = [
            self.message,
            "",
            f"host:  {self.host}",
            f"agent: {self.agent or '(host)'}",
            f"kind:  {self.kind} ({self.level})",
            f"time:  {self.time_text}",
            "",
            "-- ",
            "agent-shepherd; 'shepherd status' and 'shepherd history' on the host say more.",
        ]
        return "\n".join(lines) + "\n"
