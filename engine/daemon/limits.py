"""How much of the API server one peer may hold, so that no client can starve the others.

Three kinds of slot, each counted per peer uid: open connections (from accept to close),
requests being answered (while the handler runs) and event streams (after the handler
answered with a stream). A peer over a limit is told so at once (503), never queued.
Root and the daemon's own uid skip the per-uid limits, and the last few request slots are
theirs alone: no other user can keep root from being answered.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

__all__ = ["Admission", "Limits"]


@dataclass(frozen=True)
class Limits:
    max_head_bytes: int = 16 * 1024
    max_body_bytes: int = 256 * 1024
    head_timeout_seconds: float = 5.0  # request line and headers
    read_timeout_seconds: float = 10.0  # the whole request, body included
    write_timeout_seconds: float = 30.0  # one write to a client that does not read
    max_connections: int = 768  # open at once, everyone together
    max_connections_per_uid: int = 128
    max_requests: int = 64  # being answered at once
    max_requests_per_uid: int = 16
    requests_reserved_for_root: int = 8
    max_streams: int = 256  # open event streams
    max_streams_per_uid: int = 16
    listen_backlog: int = 1024  # connections the kernel holds until they are accepted


class _Slots:
    """At most ``total`` held at once, ``per_uid`` by one unprivileged uid, which together
    may not take the last ``reserved``."""

    def __init__(self, what: str, total: int, per_uid: int, reserved: int = 0) -> None:
        self.what, self.total, self.per_uid, self.reserved = what, total, per_uid, reserved
        self.held: Counter[int] = Counter()

    def take(self, uid: int, privileged: bool) -> str | None:
        """None when taken, else the sentence saying why not."""
        in_use = self.held.total()
        if privileged:
            if in_use >= self.total:
                return f"the daemon already has {in_use} {self.what} open; try again shortly"
        elif self.held[uid] >= self.per_uid:
            return f"uid {uid} already has {self.held[uid]} {self.what} open; close some first"
        elif in_use >= self.total - self.reserved:
            return f"the daemon already has {in_use} {self.what} open; try again shortly"
        self.held[uid] += 1
        return None

    def give(self, uid: int) -> None:
        self.held[uid] -= 1
        if self.held[uid] <= 0:
            del self.held[uid]


class Admission:
    """Who holds what on one server: connections, requests being answered, event streams.

    Used from the event loop only (no locking). ``privileged`` uids (root and the daemon's
    own) skip the per-uid limits and may use the reserved request slots.
    """

    def __init__(self, limits: Limits, privileged: frozenset[int] | None = None) -> None:
        self.limits = limits
        self.privileged = privileged if privileged is not None else frozenset({0, os.getuid()})
        self.connections = _Slots(
            "connections", limits.max_connections, limits.max_connections_per_uid
        )
        self.requests = _Slots(
            "requests in progress",
            limits.max_requests,
            limits.max_requests_per_uid,
            limits.requests_reserved_for_root,
        )
        self.streams = _Slots("event streams", limits.max_streams, limits.max_streams_per_uid)

    def take(self, slots: _Slots, uid: int) -> str | None:
        return slots.take(uid, uid in self.privileged)
